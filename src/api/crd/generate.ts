/**
 * CustomResourceDefinitions of our own kinds, generated from their single schema, so that a real
 * cluster can serve them (deploy/crds/, written by `node dist/src/api/crd/generate.js deploy/crds`
 * and checked fresh by a test). The schema is cut to what a structural CRD schema may say: no
 * TypeBox markers, no keywords of ours, `const` as a one-value enum, metadata left to the server.
 */
import { tenantKind } from '../cozystack/tenant.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { snapshotScheduleKind } from '../hikube/snapshotschedule.js';
import { vmDiskKind } from '../cozystack/vmdisk.js';
import { vmInstanceKind } from '../cozystack/vminstance.js';
import type { KindDefinition } from '../kind.js';
import { backupClassKind, planKind } from '../backups/plan.js';
import { backupJobKind, backupKind, restoreJobKind } from '../backups/jobs.js';
import { backupStrategyKind } from '../backups/strategy.js';

/** Our kinds (not KubeVirt's or CDI's, which their own operators install). */
export const ownKinds: readonly KindDefinition[] = [
  vmDiskKind,
  vmInstanceKind,
  snapshotScheduleKind,
  tenantKind,
  backupClassKind,
  planKind,
  backupJobKind,
  backupKind,
  restoreJobKind,
  backupStrategyKind,
];

/** Keywords a CRD's JSONSchemaProps has; anything else is dropped. */
const KEPT = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'nullable',
  'example',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
]);

function clean(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(clean);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'const') out['enum'] = [value];
    else if (!KEPT.has(key)) continue;
    else if (
      key === 'properties' ||
      key === 'example' ||
      key === 'default' ||
      key === 'enum' ||
      key === 'required'
    )
      out[key] =
        key === 'properties'
          ? Object.fromEntries(
              Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, clean(v)]),
            )
          : value;
    else if (key === 'additionalProperties' && typeof value === 'boolean') {
      if (value) out['x-kubernetes-preserve-unknown-fields'] = true;
    } else out[key] = clean(value);
  }
  // Literal unions render as anyOf of one-value enums: one enum of strings, as CRDs spell it.
  const anyOf = out['anyOf'];
  // `T | null` renders as anyOf [T, null]: a nullable T, as CRDs spell it.
  if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some((b) => isType(b, 'null'))) {
    const other = anyOf.find((b) => !isType(b, 'null')) as Record<string, unknown>;
    delete out['anyOf'];
    return { ...out, ...other, nullable: true };
  }
  if (Array.isArray(anyOf) && anyOf.every((b) => isEnumOnly(b))) {
    const values = anyOf.flatMap((b: { enum: unknown[] }) => b.enum);
    out['enum'] = values;
    out['type'] ??= typeof values[0] === 'number' ? 'integer' : 'string';
    delete out['anyOf'];
  }
  return out;
}

const isType = (b: unknown, type: string): boolean =>
  typeof b === 'object' && b !== null && (b as Record<string, unknown>)['type'] === type;

const isEnumOnly = (b: unknown): b is { enum: unknown[] } =>
  typeof b === 'object' &&
  b !== null &&
  Array.isArray((b as Record<string, unknown>)['enum']) &&
  !('type' in b);

function withoutRequired<S extends { required?: string[] }>(schema: S): Omit<S, 'required'> {
  const { required: _required, ...rest } = schema;
  return rest;
}

export function crdOf(def: KindDefinition): Record<string, unknown> {
  const schema = clean(def.schema) as { properties?: Record<string, unknown>; required?: string[] };
  const properties = { ...schema.properties };
  properties['apiVersion'] = {
    type: 'string',
    description: 'APIVersion of this representation of the object.',
  };
  properties['kind'] = { type: 'string', description: 'Kind of the object.' };
  properties['metadata'] = { type: 'object' };
  const required = (schema.required ?? []).filter((r) => !['apiVersion', 'kind', 'metadata'].includes(r));
  const columns = def.printerColumns
    .filter((c) => c.jsonPath !== '.metadata.name' && c.jsonPath !== '.metadata.creationTimestamp')
    .map((c) => ({
      name: c.name,
      type: c.type,
      jsonPath: c.jsonPath,
      ...(c.description !== undefined ? { description: c.description } : {}),
      ...(c.priority === 1 ? { priority: 1 } : {}),
    }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}` },
    spec: {
      group: def.group,
      names: {
        plural: def.plural,
        singular: def.singular,
        kind: def.kind,
        listKind: `${def.kind}List`,
        ...(def.shortNames !== undefined ? { shortNames: def.shortNames } : {}),
        ...(def.categories !== undefined ? { categories: def.categories } : {}),
      },
      scope: def.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              ...withoutRequired(schema),
              description: def.description,
              ...(required.length > 0 ? { required } : {}),
              properties,
            },
          },
          ...(def.statusSubresource || def.scaleSubresource === true
            ? {
                subresources: {
                  ...(def.statusSubresource ? { status: {} } : {}),
                  ...(def.scaleSubresource === true
                    ? {
                        scale: {
                          specReplicasPath: '.spec.replicas',
                          statusReplicasPath: '.status.replicas',
                          labelSelectorPath: '.status.labelSelector',
                        },
                      }
                    : {}),
                },
              }
            : {}),
          ...(columns.length > 0 ? { additionalPrinterColumns: columns } : {}),
        },
      ],
    },
  };
}

export const crdFileName = (def: KindDefinition): string => `${def.plural}.${def.group}.yaml`;

export const renderCrd = (def: KindDefinition): string =>
  `# Generated from src/api by src/api/crd/generate.ts; do not edit.\n${stringify(crdOf(def), { lineWidth: 0 })}`;

async function main(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const def of ownKinds) await writeFile(join(dir, crdFileName(def)), renderCrd(def));
}

if (process.argv[1]?.endsWith('/api/crd/generate.js') === true) await main(process.argv[2] ?? 'deploy/crds');
