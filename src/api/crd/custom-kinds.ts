/**
 * What an accepted CRD serves: one KindDefinition per served version, so that discovery, OpenAPI,
 * tables, watch and storage treat a Widget as they treat a built-in kind. Objects are stored once
 * under the storage version; other served versions differ only in apiVersion (conversion
 * strategy None) and are served as OlderVersionKinds of it (src/api/versions.ts), each read through
 * its own schema.
 */
import type { KindDefinition, PrinterColumn } from '../kind.js';
import type { JsonSchema } from '../validate.js';
import type { OlderVersionKind } from '../versions.js';
import type { CrdVersion, CustomResourceDefinition } from './crd.js';
import { hasRules, ruleErrors } from './cel/evaluate.js';
import { readCustomResource } from './structural.js';

/** The object's envelope around the CRD's schema: apiVersion, kind, and metadata (whose checks are the server's). */
function wholeSchema(schema: JsonSchema): JsonSchema {
  const metadata = schema.properties?.['metadata'];
  return {
    ...schema,
    type: 'object',
    properties: {
      ...schema.properties,
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: {
        ...(metadata ?? {}),
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      },
    },
  };
}

const columnsOf = (v: CrdVersion): PrinterColumn[] =>
  (v.additionalPrinterColumns ?? []).map((c) => ({
    name: c.name,
    type: c.type as PrinterColumn['type'],
    jsonPath: c.jsonPath,
    ...(c.description !== undefined ? { description: c.description } : {}),
    ...(c.format !== undefined ? { format: c.format } : {}),
    priority: c.priority === undefined || c.priority === 0 ? 0 : 1,
  }));

function versionKind(crd: CustomResourceDefinition, v: CrdVersion): KindDefinition {
  const { names } = crd.spec;
  const schema = wholeSchema(v.schema?.openAPIV3Schema ?? { type: 'object' });
  const scale = v.subresources?.scale;
  return {
    group: crd.spec.group,
    version: v.name,
    kind: names.kind,
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    ...(names.shortNames !== undefined ? { shortNames: names.shortNames } : {}),
    ...(names.categories !== undefined ? { categories: names.categories } : {}),
    namespaced: crd.spec.scope === 'Namespaced',
    description: schema.description ?? `${names.kind} (custom resource)`,
    schema: schema as KindDefinition['schema'],
    statusSubresource: v.subresources?.status !== undefined,
    ...(scale !== undefined
      ? {
          scaleSubresource: true,
          scalePaths: {
            specReplicas: scale.specReplicasPath,
            statusReplicas: scale.statusReplicasPath,
            ...(scale.labelSelectorPath !== undefined ? { labelSelector: scale.labelSelectorPath } : {}),
          },
        }
      : {}),
    printerColumns: columnsOf(v),
    read: (body) => readCustomResource(body, schema),
    ...(hasRules(schema) ? { validateRules: (obj, old) => ruleErrors(obj, old, schema) } : {}),
    custom: true,
  };
}

/** The served kinds of an accepted CRD, the storage version first (discovery prefers it). */
export function customKinds(crd: CustomResourceDefinition): KindDefinition[] {
  const storageVersion = crd.spec.versions.find((v) => v.storage);
  if (storageVersion === undefined) return [];
  const storage = versionKind(crd, storageVersion);
  const others = crd.spec.versions
    .filter((v) => v.served && v !== storageVersion)
    .map((v): OlderVersionKind => {
      const own = versionKind(crd, v);
      return {
        ...own,
        // Stored under the storage version, but read through this version's own schema, as upstream.
        storage: withOwnRules(
          { ...storage, printerColumns: own.printerColumns, ...(own.read ? { read: own.read } : {}) },
          own,
        ),
        deprecationWarning:
          v.deprecated === true
            ? (v.deprecationWarning ?? `${crd.spec.group}/${v.name} ${crd.spec.names.kind} is deprecated`)
            : '',
      };
    });
  return [...(storageVersion.served ? [storage] : []), ...others];
}

/** An older version's writes are checked by that version's own CEL rules, as upstream. */
function withOwnRules(storage: KindDefinition, own: KindDefinition): KindDefinition {
  const { validateRules: _storageRules, ...rest } = storage;
  return own.validateRules === undefined ? rest : { ...rest, validateRules: own.validateRules };
}
