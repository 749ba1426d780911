/**
 * Checks of one value against the value keywords of a CRD's structural schema (bounds, lengths,
 * pattern, format, list types), each failure one cause with its path and the wording of
 * kube-apiserver's OpenAPI validator. Types, pruning and defaults are walked in structural.ts.
 */
import type { FieldError } from '../kind.js';
import type { JsonSchema } from '../validate.js';
import { compilePattern } from './pattern.js';

const num = (s: JsonSchema, k: string): number | undefined => (typeof s[k] === 'number' ? s[k] : undefined);

const invalid = (path: string, v: unknown, message: string): FieldError => ({
  path,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(typeof v === 'object' && v !== null ? '' : v)}: ${message}`,
});

export function numberChecks(v: number, s: JsonSchema, path: string, errors: FieldError[]): void {
  const min = num(s, 'minimum');
  const max = num(s, 'maximum');
  if (min !== undefined && (s['exclusiveMinimum'] === true ? v <= min : v < min))
    errors.push(
      invalid(
        path,
        v,
        `${path} in body should be greater than ${s['exclusiveMinimum'] === true ? '' : 'or equal to '}${min}`,
      ),
    );
  if (max !== undefined && (s['exclusiveMaximum'] === true ? v >= max : v > max))
    errors.push(
      invalid(
        path,
        v,
        `${path} in body should be less than ${s['exclusiveMaximum'] === true ? '' : 'or equal to '}${max}`,
      ),
    );
  const multiple = num(s, 'multipleOf');
  if (multiple !== undefined && multiple > 0 && !Number.isInteger(v / multiple))
    errors.push(invalid(path, v, `${path} in body should be a multiple of ${multiple}`));
  if (s.format === 'int32' && (v < -2147483648 || v > 2147483647))
    errors.push(invalid(path, v, `${path} in body must be of type int32`));
}

const FORMATS: Record<string, RegExp> = {
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  hostname: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i,
  ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  email: /^[^@\s]{1,64}@[^@\s]{1,255}$/,
};

/** The string formats checked; others are accepted as kube-apiserver accepts unknown formats. */
export const checkedFormats = Object.keys(FORMATS);

export function stringChecks(v: string, s: JsonSchema, path: string, errors: FieldError[]): void {
  const length = [...v].length;
  const minLength = num(s, 'minLength');
  const maxLength = num(s, 'maxLength');
  if (maxLength !== undefined && length > maxLength)
    errors.push({
      path,
      reason: 'FieldValueTooLong',
      message: `Too long: may not be more than ${maxLength} bytes`,
    });
  if (minLength !== undefined && length < minLength)
    errors.push(invalid(path, v, `${path} in body should be at least ${minLength} chars long`));
  if (typeof s['pattern'] === 'string') {
    const re = compilePattern(s['pattern']);
    if (typeof re !== 'string' && !re.test(v))
      errors.push(invalid(path, v, `${path} in body should match '${s['pattern']}'`));
  }
  const format = s.format === undefined ? undefined : FORMATS[s.format];
  if (format !== undefined && !format.test(v))
    errors.push(invalid(path, v, `${path} in body must be of type ${s.format ?? ''}: ${JSON.stringify(v)}`));
}

export function arrayChecks(v: unknown[], s: JsonSchema, path: string, errors: FieldError[]): void {
  const minItems = num(s, 'minItems');
  const maxItems = num(s, 'maxItems');
  if (maxItems !== undefined && v.length > maxItems)
    errors.push({
      path,
      reason: 'FieldValueTooMany',
      message: `Too many: ${v.length}: must have at most ${maxItems} items`,
    });
  if (minItems !== undefined && v.length < minItems)
    errors.push(invalid(path, v, `${path} in body should have at least ${minItems} items`));
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'set' || s['uniqueItems'] === true) duplicates(v, path, (x) => JSON.stringify(x), errors);
  if (listType === 'map') {
    const keys = Array.isArray(s['x-kubernetes-list-map-keys'])
      ? (s['x-kubernetes-list-map-keys'] as string[])
      : [];
    duplicates(
      v,
      path,
      (x) =>
        JSON.stringify(
          keys.map(
            (k) =>
              (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[k] : undefined) ?? null,
          ),
        ),
      errors,
    );
  }
}

function duplicates(v: unknown[], path: string, keyOf: (x: unknown) => string, errors: FieldError[]): void {
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key))
      errors.push({
        path: `${path}[${i}]`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${key}`,
      });
    seen.add(key);
  });
}

export function objectChecks(
  v: Record<string, unknown>,
  s: JsonSchema,
  path: string,
  errors: FieldError[],
): void {
  const count = Object.keys(v).length;
  const maxProperties = num(s, 'maxProperties');
  const minProperties = num(s, 'minProperties');
  if (maxProperties !== undefined && count > maxProperties)
    errors.push({
      path,
      reason: 'FieldValueTooMany',
      message: `Too many: ${count}: must have at most ${maxProperties} items`,
    });
  if (minProperties !== undefined && count < minProperties)
    errors.push(invalid(path, v, `${path} in body should have at least ${minProperties} properties`));
}
