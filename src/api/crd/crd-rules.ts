/**
 * The rules kube-apiserver applies to a CustomResourceDefinition before accepting it: names, one
 * storage version, printer columns, subresources, and a structural schema. What this server cannot
 * do is refused with a message that says so (conversion webhooks, CEL rules that call functions we
 * do not provide or cost too much). A CRD is user input:
 * its schema is bounded in depth and size and its patterns must run in linear time.
 */
import type { FieldError } from '../kind.js';
import type { JsonSchema } from '../validate.js';
import type { CustomResourceDefinition } from './crd.js';
import { maxSize, overBudget, SCHEMA_COST_LIMIT } from './cel/cost.js';
import { declarationErrors } from './cel/declared.js';
import { compilePattern } from './pattern.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
/** Nesting of a schema (properties, items, additionalProperties…) kept well inside the body depth limit. */
export const MAX_SCHEMA_DEPTH = 48;
/** Schema nodes in one version's schema. */
export const MAX_SCHEMA_NODES = 20_000;
const COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];
const TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];

const bad = (path: string, value: unknown, message: string): FieldError => ({
  path,
  message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
});
const required = (path: string, message = 'Required value'): FieldError => ({
  path,
  reason: 'FieldValueRequired',
  message,
});

export function validateCrd(
  crd: CustomResourceDefinition,
  old: CustomResourceDefinition | undefined,
): FieldError[] {
  const errors: FieldError[] = [];
  const { spec } = crd;
  if (!DNS_SUBDOMAIN.test(spec.group) || !spec.group.includes('.') || spec.group.length > 253)
    errors.push(bad('spec.group', spec.group, 'should be a domain with at least one dot'));
  const expected = `${spec.names.plural}.${spec.group}`;
  if (crd.metadata.name !== expected)
    errors.push(bad('metadata.name', crd.metadata.name ?? '', `must be spec.names.plural+"."+spec.group`));
  errors.push(...namesErrors(spec.names));
  if (old !== undefined) {
    if (old.spec.scope !== spec.scope) errors.push(bad('spec.scope', spec.scope, 'field is immutable'));
  }
  errors.push(...versionsErrors(crd));
  const strategy = spec.conversion?.strategy ?? 'None';
  if (strategy === 'Webhook')
    errors.push({
      path: 'spec.conversion.strategy',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: "Webhook": conversion webhooks are not supported by this server; use "None" (versions that differ only in apiVersion)`,
    });
  else if (strategy !== 'None')
    errors.push({
      path: 'spec.conversion.strategy',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(strategy)}: supported values: "None", "Webhook"`,
    });
  if (spec.preserveUnknownFields === true)
    errors.push(
      bad('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'),
    );
  return errors;
}

function namesErrors(names: CustomResourceDefinition['spec']['names']): FieldError[] {
  const errors: FieldError[] = [];
  const label = (path: string, v: string | undefined): void => {
    if (v !== undefined && !DNS_LABEL.test(v))
      errors.push(
        bad(path, v, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"),
      );
  };
  label('spec.names.plural', names.plural);
  label('spec.names.singular', names.singular);
  if (!KIND.test(names.kind))
    errors.push(bad('spec.names.kind', names.kind, 'must be a CamelCase name starting with a letter'));
  if (names.listKind !== undefined && !KIND.test(names.listKind))
    errors.push(
      bad('spec.names.listKind', names.listKind, 'must be a CamelCase name starting with a letter'),
    );
  if (names.listKind !== undefined && names.listKind === names.kind)
    errors.push(bad('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));
  names.shortNames?.forEach((s, i) => label(`spec.names.shortNames[${i}]`, s));
  names.categories?.forEach((s, i) => label(`spec.names.categories[${i}]`, s));
  return errors;
}

function versionsErrors(crd: CustomResourceDefinition): FieldError[] {
  const errors: FieldError[] = [];
  const versions = crd.spec.versions;
  if (versions.length === 0)
    return [required('spec.versions', 'Required value: must have at least one version')];
  const storage = versions.filter((v) => v.storage).length;
  if (storage !== 1)
    errors.push(bad('spec.versions', storage, 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!DNS1035_LABEL.test(v.name)) errors.push(bad(`${at}.name`, v.name, 'must be a DNS-1035 label'));
    if (seen.has(v.name))
      errors.push({
        path: `${at}.name`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(v.name)}`,
      });
    seen.add(v.name);
    const schema = v.schema?.openAPIV3Schema;
    if (schema === undefined)
      errors.push(required(`${at}.schema.openAPIV3Schema`, 'Required value: schemas are required'));
    else errors.push(...schemaErrors(schema, `${at}.schema.openAPIV3Schema`));
    v.additionalPrinterColumns?.forEach((c, j) => {
      const cp = `${at}.additionalPrinterColumns[${j}]`;
      if (c.name === '') errors.push(required(`${cp}.name`));
      if (!COLUMN_TYPES.includes(c.type))
        errors.push({
          path: `${cp}.type`,
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(c.type)}: supported values: ${COLUMN_TYPES.map((t) => JSON.stringify(t)).join(', ')}`,
        });
      if (!c.jsonPath.startsWith('.'))
        errors.push(bad(`${cp}.jsonPath`, c.jsonPath, 'must be a simple json path starting with .'));
    });
    const scale = v.subresources?.scale;
    if (scale !== undefined) {
      if (!/^\.spec(\.[A-Za-z0-9_-]+)+$/.test(scale.specReplicasPath))
        errors.push(
          bad(
            `${at}.subresources.scale.specReplicasPath`,
            scale.specReplicasPath,
            'should be a json path under .spec',
          ),
        );
      if (!/^\.status(\.[A-Za-z0-9_-]+)+$/.test(scale.statusReplicasPath))
        errors.push(
          bad(
            `${at}.subresources.scale.statusReplicasPath`,
            scale.statusReplicasPath,
            'should be a json path under .status',
          ),
        );
      const sel = scale.labelSelectorPath;
      if (sel !== undefined && !/^\.(spec|status)(\.[A-Za-z0-9_-]+)+$/.test(sel))
        errors.push(
          bad(
            `${at}.subresources.scale.labelSelectorPath`,
            sel,
            'should be a json path under either .spec or .status',
          ),
        );
    }
  });
  return errors;
}

/** Structural schema rules, walked with a budget so that a huge or deep schema is refused quickly. */
export function schemaErrors(root: JsonSchema, base: string): FieldError[] {
  const errors: FieldError[] = [];
  let nodes = 0;
  const total = { cost: 0 };
  const visit = (s: unknown, path: string, depth: number, inLogic: boolean, cardinality = 1): void => {
    if (errors.length > 100) return;
    nodes++;
    if (nodes === MAX_SCHEMA_NODES + 1)
      errors.push(bad(base, nodes, `the schema has more than ${MAX_SCHEMA_NODES} nodes`));
    if (nodes > MAX_SCHEMA_NODES) return;
    if (depth > MAX_SCHEMA_DEPTH) {
      errors.push(bad(path, depth, `the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`));
      return;
    }
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      errors.push(bad(path, typeof s, 'must be a schema object'));
      return;
    }
    const n = s as JsonSchema;
    errors.push(...declarationErrors(n, path, inLogic, { cardinality, total }));
    if (n.$ref !== undefined)
      errors.push({
        path: `${path}.$ref`,
        reason: 'FieldValueForbidden',
        message: 'Forbidden: $ref is not allowed',
      });
    const intOrString = n['x-kubernetes-int-or-string'] === true;
    const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
    if (!inLogic && n.type === undefined && !intOrString && !preserve)
      errors.push(required(`${path}.type`, 'Required value: must not be empty for specified object fields'));
    if (n.type !== undefined && !TYPES.includes(n.type))
      errors.push({
        path: `${path}.type`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(n.type)}: supported values: ${TYPES.map((t) => JSON.stringify(t)).join(', ')}`,
      });
    if (n.properties !== undefined && typeof n.additionalProperties === 'object')
      errors.push({
        path: `${path}.additionalProperties`,
        reason: 'FieldValueForbidden',
        message: 'Forbidden: additionalProperties and properties are mutual exclusive',
      });
    if (typeof n['pattern'] === 'string') {
      const re = compilePattern(n['pattern']);
      if (typeof re === 'string')
        errors.push(
          bad(
            `${path}.pattern`,
            n['pattern'],
            `must be a regular expression that runs in linear time: ${re}`,
          ),
        );
    }
    if (n.type === 'array' && n.items === undefined && !inLogic)
      errors.push(required(`${path}.items`, 'Required value: must be specified'));
    listTypeErrors(n, path, errors);
    for (const [key, child] of Object.entries(n.properties ?? {}))
      visit(child, `${path}.properties[${key}]`, depth + 1, inLogic, cardinality);
    if (typeof n.additionalProperties === 'object')
      visit(
        n.additionalProperties,
        `${path}.additionalProperties`,
        depth + 1,
        inLogic,
        cardinality * maxSize(n),
      );
    if (n.items !== undefined) visit(n.items, `${path}.items`, depth + 1, inLogic, cardinality * maxSize(n));
    for (const k of ['allOf', 'anyOf', 'oneOf']) {
      const branches = n[k];
      if (Array.isArray(branches))
        branches.forEach((b, i) => visit(b, `${path}.${k}[${i}]`, depth + 1, true));
    }
    if (n['not'] !== undefined) visit(n['not'], `${path}.not`, depth + 1, true);
  };
  visit(root, base, 0, false);
  if (total.cost > SCHEMA_COST_LIMIT)
    errors.push({
      path: base,
      reason: 'FieldValueForbidden',
      message: `Forbidden: ${overBudget('x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema', total.cost, SCHEMA_COST_LIMIT)}`,
    });
  if (root.type !== 'object' && errors.length === 0)
    errors.push(bad(`${base}.type`, root.type ?? '', 'must be object at the root'));
  return errors;
}

function listTypeErrors(n: JsonSchema, path: string, errors: FieldError[]): void {
  const listType = n['x-kubernetes-list-type'];
  const keys = n['x-kubernetes-list-map-keys'];
  if (listType === undefined) {
    if (keys !== undefined)
      errors.push(
        bad(`${path}.x-kubernetes-list-map-keys`, keys, 'must be empty if x-kubernetes-list-type is not map'),
      );
    return;
  }
  if (listType !== 'atomic' && listType !== 'set' && listType !== 'map') {
    errors.push({
      path: `${path}.x-kubernetes-list-type`,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(listType)}: supported values: "atomic", "set", "map"`,
    });
    return;
  }
  if (listType !== 'map') return;
  if (!Array.isArray(keys) || keys.length === 0) {
    errors.push(
      required(
        `${path}.x-kubernetes-list-map-keys`,
        'Required value: must not be empty if x-kubernetes-list-type is map',
      ),
    );
    return;
  }
  const item = n.items;
  if (item?.type !== 'object') {
    errors.push(
      bad(
        `${path}.items.type`,
        item?.type ?? '',
        "must be object if parent array's x-kubernetes-list-type is map",
      ),
    );
    return;
  }
  for (const key of keys as unknown[]) {
    const prop = typeof key === 'string' ? item.properties?.[key] : undefined;
    if (prop === undefined)
      errors.push(
        bad(`${path}.x-kubernetes-list-map-keys`, key, 'entries must all be names of item properties'),
      );
    else if (!(item.required ?? []).includes(key as string) && prop.default === undefined)
      errors.push(
        bad(
          `${path}.x-kubernetes-list-map-keys`,
          key,
          'entries must all be required or have a default value',
        ),
      );
  }
}
