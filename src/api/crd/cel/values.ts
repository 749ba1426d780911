/**
 * A JSON value as CEL sees it, typed by the CRD's structural schema as kube-apiserver types it:
 * `integer` is CEL int (a bigint here), `number` is double, int-or-string is either, objects and
 * maps are CEL maps (JavaScript Maps, so that no inherited property such as `constructor` is ever
 * a field), arrays are lists. Under `x-kubernetes-preserve-unknown-fields` a whole number is an int.
 */
import type { CelList, CelValue } from '@bufbuild/cel';
import type { JsonSchema } from '../../validate.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function toCel(
  value: unknown,
  schema: JsonSchema | undefined,
  cache?: WeakMap<object, unknown>,
): unknown {
  if (typeof value === 'object' && value !== null && cache?.has(value) === true) return cache.get(value);
  const out = convert(value, schema, cache);
  if (typeof value === 'object' && value !== null) cache?.set(value, out);
  return out;
}

function convert(value: unknown, schema: JsonSchema | undefined, cache?: WeakMap<object, unknown>): unknown {
  if (typeof value === 'number') {
    const integer = schema?.type === 'integer' || (schema?.type !== 'number' && Number.isInteger(value));
    return integer && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items, cache));
  if (isObject(value)) {
    const out = new Map<string, unknown>();
    for (const [key, child] of Object.entries(value))
      out.set(key, toCel(child, childSchema(schema, key), cache));
    return out;
  }
  return value;
}

/** The schema of a field or map entry of an object schema. */
export function childSchema(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (schema === undefined) return undefined;
  const declared =
    schema.properties !== undefined && Object.hasOwn(schema.properties, key)
      ? schema.properties[key]
      : undefined;
  if (declared !== undefined) return declared;
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

/**
 * The elements of a CEL list, read without recursion. A list built by `map` or `filter` is, in
 * @bufbuild/cel, a concatenation nested once per element, and its own iterator recurses that deep
 * (a stack overflow past a few thousand elements); its parts are walked here with a stack instead.
 */
export function listItems(list: CelList): CelValue[] {
  const out: CelValue[] = [];
  const stack: CelList[] = [list];
  for (let l = stack.pop(); l !== undefined; l = stack.pop()) {
    const parts = (l as { _lists?: unknown })._lists;
    if (Array.isArray(parts)) for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i] as CelList);
    else for (const v of l) out.push(v);
  }
  return out;
}
