/**
 * API discovery at run time (`GET /apis`): which optional groups this server serves, so an action
 * that needs a kind (a VirtualMachineSnapshot, a VirtualMachineClone) lights up once the kind
 * exists, here or on a KubeVirt cluster, without a console release.
 */
import { useEffect, useState } from 'react';
import { api } from './client';

interface ApiGroupList {
  groups: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[];
}

let groups: Promise<Map<string, string>> | undefined;

/** Group name → preferred version, fetched once per page load (and again after a failure). */
export function apiGroups(): Promise<Map<string, string>> {
  groups ??= api.get<ApiGroupList>('/apis').then(
    (list) =>
      new Map(list.groups.map((g) => [g.name, g.preferredVersion?.version ?? g.versions[0]?.version ?? ''])),
    (err: unknown) => {
      groups = undefined;
      throw err;
    },
  );
  return groups;
}

/** The preferred version of `group`, null when the server does not serve it, undefined while asking. */
export function useApiGroup(group: string): string | null | undefined {
  const [version, setVersion] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    apiGroups().then(
      (g) => live && setVersion(g.get(group) ?? null),
      () => live && setVersion(null),
    );
    return () => {
      live = false;
    };
  }, [group]);
  return version;
}
