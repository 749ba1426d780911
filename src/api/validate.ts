/**
 * Structural validation of an incoming object against its kind's schema, the way the Kubernetes
 * API server treats structural CRD schemas: every type error is collected (not just the first),
 * fields the schema does not declare are pruned and reported (the caller decides, from
 * `fieldValidation`, whether they are an error, a warning or nothing), fields marked `NoEffect`
 * that are given are reported (the caller answers them with a warning), and `null` on an optional
 * field means absent.
 */
import type { FieldError } from './kind.js';
import { parseQuantity } from './quantity.js';
import { NO_EFFECT } from './schema.js';

/** The subset of JSON Schema our kind schemas use (TypeBox output). */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  format?: string;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [keyword: string]: unknown;
}

export interface StructuralResult {
  /** The object with undeclared fields and nulls removed. */
  value: unknown;
  errors: FieldError[];
  /** Paths of fields the schema does not declare (already removed from `value`). */
  unknownFields: string[];
  /** Paths of fields given that the schema marks as kept without effect (`NoEffect`). */
  noEffectFields: string[];
}

export function validateStructure(value: unknown, schema: JsonSchema): StructuralResult {
  const errors: FieldError[] = [];
  const unknownFields: string[] = [];
  const noEffectFields: string[] = [];
  const pruned = walk(value, schema, '', errors, unknownFields, noEffectFields);
  return { value: pruned, errors, unknownFields, noEffectFields };
}

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

export const childPath = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$-]*$/.test(key) ? (parent === '' ? key : `${parent}.${key}`) : `${parent}[${key}]`;

function walk(
  v: unknown,
  s: JsonSchema,
  path: string,
  errors: FieldError[],
  unknown: string[],
  inert: string[],
): unknown {
  if (s[NO_EFFECT] === true) inert.push(path);
  if (s['x-kubernetes-int-or-string'] === true) return intOrString(v, s, path, errors);
  if (s.anyOf !== undefined) return anyOf(v, s.anyOf, path, errors, unknown, inert);
  switch (s.type) {
    case 'object':
      return object(v, s, path, errors, unknown, inert);
    case 'array': {
      if (!Array.isArray(v)) return typeError(v, 'array', path, errors);
      const itemSchema = s.items;
      return itemSchema === undefined
        ? v
        : v.map((item, i) => walk(item, itemSchema, `${path}[${i}]`, errors, unknown, inert));
    }
    case 'string':
      if (typeof v !== 'string') return typeError(v, 'string', path, errors);
      return checkEnum(v, s, path, errors);
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return typeError(v, 'integer', path, errors);
      return v;
    case 'number':
      if (typeof v !== 'number') return typeError(v, 'number', path, errors);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') return typeError(v, 'boolean', path, errors);
      return v;
    default:
      return v;
  }
}

function typeError(v: unknown, expected: string, path: string, errors: FieldError[]): unknown {
  errors.push({
    path,
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${JSON.stringify(typeName(v))}: ${path} in body must be of type ${expected}: ${JSON.stringify(shortValue(v))}`,
  });
  return v;
}

const shortValue = (v: unknown): unknown => (typeof v === 'object' && v !== null ? typeName(v) : v);

function checkEnum(v: unknown, s: JsonSchema, path: string, errors: FieldError[]): unknown {
  if (s.enum !== undefined && !s.enum.includes(v)) {
    const supported = s.enum.map((e) => JSON.stringify(e)).join(', ');
    errors.push({
      path,
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${supported}`,
    });
  }
  return v;
}

/** TypeBox renders unions as anyOf: a union of literals is an enum, otherwise the first branch that fits wins. */
function anyOf(
  v: unknown,
  branches: JsonSchema[],
  path: string,
  errors: FieldError[],
  unknown: string[],
  inert: string[],
): unknown {
  if (branches.every((b) => Object.hasOwn(b, 'const'))) {
    return checkEnum(v, { enum: branches.map((b) => b['const']) }, path, errors);
  }
  for (const branch of branches) {
    const branchErrors: FieldError[] = [];
    const branchUnknown: string[] = [];
    const branchInert: string[] = [];
    const out = walk(v, branch, path, branchErrors, branchUnknown, branchInert);
    if (branchErrors.length === 0) {
      unknown.push(...branchUnknown);
      inert.push(...branchInert);
      return out;
    }
  }
  errors.push({
    path,
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${JSON.stringify(shortValue(v))}: does not match any allowed form`,
  });
  return v;
}

function intOrString(v: unknown, s: JsonSchema, path: string, errors: FieldError[]): unknown {
  if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
    return typeError(v, 'integer or string', path, errors);
  }
  if (s.format === 'quantity' && parseQuantity(v) === undefined) {
    errors.push({
      path,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(v)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    });
  }
  return v;
}

function object(
  v: unknown,
  s: JsonSchema,
  path: string,
  errors: FieldError[],
  unknown: string[],
  inert: string[],
): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return typeError(v, 'object', path, errors);
  const input = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const properties = s.properties ?? {};
  const additional = s.additionalProperties;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, child] of Object.entries(input)) {
    const p = childPath(path, key);
    const declared = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (child === null && !(declared === undefined && preserve)) continue;
    if (declared !== undefined) out[key] = walk(child, declared, p, errors, unknown, inert);
    else if (typeof additional === 'object') out[key] = walk(child, additional, p, errors, unknown, inert);
    else if (preserve || additional === true) out[key] = child;
    else unknown.push(p);
  }
  for (const key of s.required ?? []) {
    if (out[key] === undefined)
      errors.push({ path: childPath(path, key), reason: 'FieldValueRequired', message: 'Required value' });
  }
  return out;
}
