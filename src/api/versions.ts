/**
 * Older API versions still served for some kinds, as KubeVirt keeps serving `kubevirt.io/v1alpha3`.
 * Their schema is the stored version's: an object is stored once, in the stored version, and a
 * request in an older version only has its `apiVersion` rewritten on the way in and out
 * (src/apiserver/conversion.ts). Discovery lists the stored version first, so it is preferred.
 */
import { apiVersionOf, type KindDefinition } from './kind.js';

export interface OlderVersion {
  group: string;
  version: string;
  /** The stored version the older one converts to. */
  storageVersion: string;
  kinds: readonly string[];
}

/** A kind served in an older version: the stored kind's definition under another version. */
export interface OlderVersionKind extends KindDefinition {
  storage: KindDefinition;
  /** Sent as a `Warning: 299` header on every response, as kube-apiserver does for deprecated versions. */
  deprecationWarning: string;
}

export const isOlderVersion = (def: KindDefinition): def is OlderVersionKind =>
  (def as Partial<OlderVersionKind>).storage !== undefined;

/** The definitions to serve: `kinds`, then each older version of them that `table` lists. */
export function withOlderVersions(
  kinds: readonly KindDefinition[],
  table: readonly OlderVersion[],
): KindDefinition[] {
  const older = table.flatMap((row) =>
    row.kinds.map((kind): OlderVersionKind => {
      const storage = kinds.find(
        (k) => k.group === row.group && k.version === row.storageVersion && k.kind === kind,
      );
      if (storage === undefined)
        throw new Error(`older version ${row.group}/${row.version} names unknown kind ${kind}`);
      const served = { group: row.group, version: row.version };
      return {
        ...storage,
        ...served,
        storage,
        deprecationWarning: `${apiVersionOf(served)} ${kind} is deprecated and will be removed in a future release; use ${apiVersionOf(storage)} ${kind}`,
      };
    }),
  );
  return [...kinds, ...older];
}
