/**
 * A custom resource read through its CRD's structural schema, as kube-apiserver reads one: fields
 * the schema does not declare are pruned (and reported, for `fieldValidation`), absent fields with
 * a `default` get it, `null` is refused unless `nullable`, every type and value error becomes one
 * cause with its path. `x-kubernetes-embedded-resource` objects keep apiVersion/kind/metadata;
 * value-only `allOf`/`anyOf`/`oneOf`/`not` are checked without pruning.
 */
import type { FieldError } from '../kind.js';
import { childPath, type JsonSchema, type StructuralResult } from '../validate.js';
import { arrayChecks, numberChecks, objectChecks, stringChecks } from './values.js';

/**
 * Schema nodes one read may visit. Nested allOf/anyOf/oneOf multiply the walk over each value, so a
 * hostile schema with a large object could otherwise hold the server; past this, the object is refused.
 */
export const MAX_READ_STEPS = 250_000;

interface Walk {
  /** Shared by the walks of logical branches: one budget per read. */
  budget: { steps: number };
  errors: FieldError[];
  unknown: string[];
  /** Inside allOf/anyOf/oneOf/not: only errors count. */
  shadow: boolean;
}

export function readCustomResource(value: unknown, schema: JsonSchema): StructuralResult {
  const w: Walk = { budget: { steps: 0 }, errors: [], unknown: [], shadow: false };
  const out = walk(value, schema, '', w);
  if (w.budget.steps > MAX_READ_STEPS)
    w.errors.push({
      path: 'metadata',
      reason: 'FieldValueForbidden',
      message: `Forbidden: the object needs more than ${MAX_READ_STEPS} schema checks; its schema (nested allOf, anyOf, oneOf) makes it too costly to check`,
    });
  return { value: out, errors: w.errors, unknownFields: w.unknown, noEffectFields: [] };
}

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

function typeError(v: unknown, expected: string, path: string, w: Walk): unknown {
  const shown = typeof v === 'object' && v !== null ? typeName(v) : v;
  w.errors.push({
    path,
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${JSON.stringify(typeName(v))}: ${path} in body must be of type ${expected}: ${JSON.stringify(shown)}`,
  });
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function walk(v: unknown, s: JsonSchema, path: string, w: Walk): unknown {
  if (++w.budget.steps > MAX_READ_STEPS) return v;
  if (v === null) return s['nullable'] === true ? null : typeError(v, s.type ?? 'object', path, w);
  const out = typed(v, s, path, w);
  if (s.enum !== undefined && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(out)))
    w.errors.push({
      path,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(out)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  logical(out, s, path, w);
  return out;
}

function typed(v: unknown, s: JsonSchema, path: string, w: Walk): unknown {
  if (s['x-kubernetes-int-or-string'] === true) {
    if (typeof v === 'string') stringChecks(v, s, path, w.errors);
    else if (typeof v === 'number' && Number.isInteger(v)) numberChecks(v, s, path, w.errors);
    else return typeError(v, 'integer or string', path, w);
    return v;
  }
  switch (s.type) {
    case 'object':
      return object(v, s, path, w);
    case 'array': {
      if (!Array.isArray(v)) return typeError(v, 'array', path, w);
      const items = s.items;
      const out = items === undefined ? v : v.map((item, i) => walk(item, items, `${path}[${i}]`, w));
      arrayChecks(out, s, path, w.errors);
      return out;
    }
    case 'string':
      if (typeof v !== 'string') return typeError(v, 'string', path, w);
      stringChecks(v, s, path, w.errors);
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return typeError(v, 'integer', path, w);
      numberChecks(v, s, path, w.errors);
      return v;
    case 'number':
      if (typeof v !== 'number') return typeError(v, 'number', path, w);
      numberChecks(v, s, path, w.errors);
      return v;
    case 'boolean':
      return typeof v === 'boolean' ? v : typeError(v, 'boolean', path, w);
    default:
      return v;
  }
}

function object(v: unknown, s: JsonSchema, path: string, w: Walk): unknown {
  if (!isObject(v)) return typeError(v, 'object', path, w);
  const properties = s.properties ?? {};
  const additional = s.additionalProperties;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(v)) {
    const p = childPath(path, key);
    const declared = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (declared !== undefined) {
      // As kube-apiserver: a null for a field with a default that is not nullable is the default.
      if (child === null && declared.default !== undefined && declared['nullable'] !== true) continue;
      out[key] = walk(child, declared, p, w);
    } else if (typeof additional === 'object') out[key] = walk(child, additional, p, w);
    else if (preserve || additional === true) out[key] = child;
    else if (embedded && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) out[key] = child;
    else if (!w.shadow) w.unknown.push(p);
  }
  if (!w.shadow)
    for (const [key, declared] of Object.entries(properties)) {
      if (out[key] === undefined && declared.default !== undefined)
        out[key] = walk(structuredClone(declared.default), declared, childPath(path, key), w);
    }
  const required = [...(s.required ?? []), ...(embedded ? ['apiVersion', 'kind'] : [])];
  for (const key of new Set(required)) {
    if (out[key] === undefined)
      w.errors.push({ path: childPath(path, key), reason: 'FieldValueRequired', message: 'Required value' });
  }
  objectChecks(out, s, path, w.errors);
  return out;
}

/** allOf/anyOf/oneOf/not: value validations over the same value, without pruning or defaults. */
function logical(v: unknown, s: JsonSchema, path: string, w: Walk): void {
  const errorsOf = (branch: JsonSchema): FieldError[] => {
    const inner: Walk = { budget: w.budget, errors: [], unknown: [], shadow: true };
    const type = branch.type ?? s.type;
    walk(v, type === undefined ? branch : { ...branch, type }, path, inner);
    return inner.errors;
  };
  const list = (k: string): JsonSchema[] => (Array.isArray(s[k]) ? (s[k] as JsonSchema[]) : []);
  for (const branch of list('allOf')) w.errors.push(...errorsOf(branch));
  const anyOf = list('anyOf');
  if (anyOf.length > 0 && !anyOf.some((b) => errorsOf(b).length === 0))
    w.errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${path} in body must match at least one schema in anyOf`,
    });
  const oneOf = list('oneOf');
  if (oneOf.length > 0 && oneOf.filter((b) => errorsOf(b).length === 0).length !== 1)
    w.errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${path} in body must match exactly one schema in oneOf`,
    });
  if (isObject(s['not']) && errorsOf(s['not']).length === 0)
    w.errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${path} in body must not validate the schema (not)`,
    });
}
