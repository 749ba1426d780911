/**
 * Kubernetes strategic merge patch, the `application/strategic-merge-patch+json` body that kubectl
 * sends for `apply`, `edit` and `patch` on kinds whose OpenAPI carries patch metadata. It is a merge
 * patch in which lists marked `x-kubernetes-patch-strategy: merge` are merged item by item (by
 * `x-kubernetes-patch-merge-key`, or as a set for lists of scalars) instead of replaced, plus the
 * `$`-directives kubectl uses to delete, replace and reorder. It follows apimachinery's
 * pkg/util/strategicpatch (StrategicMergeMapPatch), including its ordering rules; where that code
 * would keep a directive in the stored object (values landing where nothing was before), the
 * directive is applied instead, and any directive key left over is stripped from the result.
 */
import { PatchError } from './json-patch.js';
import { cloneJson, hasOwn, isJsonObject, jsonEqual, setOwn, type JsonObject } from './merge-patch.js';

/** The parts of a JSON Schema (TypeBox output) that say how to patch a field. */
export interface JsonSchemaLike {
  readonly type?: string | readonly string[] | undefined;
  readonly description?: string | undefined;
  readonly properties?: { readonly [name: string]: JsonSchemaLike } | undefined;
  readonly additionalProperties?: JsonSchemaLike | boolean | undefined;
  readonly items?: JsonSchemaLike | readonly JsonSchemaLike[] | undefined;
  readonly allOf?: readonly JsonSchemaLike[] | undefined;
  readonly anyOf?: readonly JsonSchemaLike[] | undefined;
  readonly oneOf?: readonly JsonSchemaLike[] | undefined;
  readonly 'x-kubernetes-patch-strategy'?: string | undefined;
  readonly 'x-kubernetes-patch-merge-key'?: string | undefined;
}
type Schema = JsonSchemaLike | undefined;

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder';
const DELETE_FROM = '$deleteFromPrimitiveList';

/**
 * Applies `patch` to `target` (neither is modified). Throws PatchError when the patch is not an
 * object, uses an unknown directive, or lacks a merge key where one is needed.
 */
export function applyStrategicMergePatch(
  target: unknown,
  patch: unknown,
  schema: JsonSchemaLike | undefined,
): unknown {
  if (!isJsonObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  const original = isJsonObject(target) ? cloneJson(target) : {};
  return stripDirectives(mergeMap(original, cloneJson(patch), schema, ''));
}

/** Merges `patch` into `original` (both owned by this module: they are changed in place). */
function mergeMap(original: JsonObject, patch: JsonObject, schema: Schema, path: string): JsonObject {
  if (hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    if (directive === 'delete') return {};
    if (directive !== 'replace') throw badDirective(path, directive);
    delete patch[PATCH];
    return fresh(patch, path) as JsonObject;
  }
  applyRetainKeys(original, patch, path);
  applySetElementOrder(original, patch, schema, path);
  const deletions: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM)) deletions.push(key);
    else mergeField(original, key, value, schema, path);
  }
  for (const key of deletions) deleteFromPrimitiveList(original, key, patch[key], path);
  return original;
}

function mergeField(original: JsonObject, key: string, value: unknown, schema: Schema, path: string): void {
  if (value === null) {
    delete original[key];
    return;
  }
  const current = hasOwn(original, key) ? original[key] : undefined;
  const fieldSchema = propertySchema(schema, key);
  const strategy = strategiesOf(fieldSchema);
  const fieldPath = path === '' ? key : `${path}.${key}`;
  let merged: unknown;
  if (isJsonObject(current) && isJsonObject(value) && !strategy.includes('replace')) {
    merged = mergeMap(current, value, fieldSchema, fieldPath);
  } else if (Array.isArray(current) && Array.isArray(value) && strategy.includes('merge')) {
    merged = mergeList(current, value, fieldSchema, fieldPath);
  } else {
    merged = fresh(value, fieldPath);
  }
  if (merged === DROP) delete original[key];
  else setOwn(original, key, merged);
}

/** A merging list: scalars form an ordered set, objects are merged by the merge key. */
function mergeList(original: unknown[], patch: unknown[], schema: Schema, path: string): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const mergeKey = mergeKeyOf(schema);
  if (elementKind(path, original, patch) === 'scalar') {
    const merged = dedupe([...original, ...patch]);
    return reorder(merged, patch, original, undefined);
  }
  if (mergeKey === undefined) {
    throw new PatchError(`${where(path)}: cannot merge a list of objects without a merge key`);
  }
  let base = original;
  const items: JsonObject[] = [];
  let replace = false;
  patch.forEach((item, i) => {
    const entry = item as JsonObject;
    const directive = hasOwn(entry, PATCH) ? entry[PATCH] : undefined;
    if (directive === 'replace') {
      replace = true;
      return;
    }
    if (directive !== undefined && directive !== 'delete') throw badDirective(`${path}[${i}]`, directive);
    if (!hasOwn(entry, mergeKey)) throw missingKey(path, `item ${i}`, mergeKey);
    if (directive === undefined) items.push(entry);
    else base = base.filter((o) => !jsonEqual((o as JsonObject)[mergeKey], entry[mergeKey]));
  });
  if (replace) return fresh(items, path) as unknown[];
  const merged = [...base];
  for (const item of items) {
    const at = merged.findIndex((o) => jsonEqual((o as JsonObject)[mergeKey], item[mergeKey]));
    const itemPath = `${path}[${mergeKey}=${JSON.stringify(item[mergeKey])}]`;
    if (at >= 0) merged[at] = mergeMap(merged[at] as JsonObject, item, itemsSchema(schema), itemPath);
    else merged.push(fresh(item, itemPath));
  }
  return reorder(merged, items, base, mergeKey);
}

/**
 * `$setElementOrder/<field>` gives the full order of a list after the patch. The list is merged as
 * usual, then sorted: items named by the directive in its order, other (server-only) items slotted
 * in where they stood in the live list.
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, schema: Schema, path: string): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = directiveField(key, SET_ORDER, path);
    const order = patch[key];
    delete patch[key];
    const fieldPath = path === '' ? field : `${path}.${field}`;
    if (!Array.isArray(order)) throw new PatchError(`${where(path)}: ${key} must be a list`);
    const live = listAt(original, field, fieldPath);
    const patched = listAt(patch, field, fieldPath);
    if (live === undefined && patched === undefined) continue;
    const fieldSchema = propertySchema(schema, field);
    const mergeKey = mergeKeyOf(fieldSchema);
    checkOrderMatchesPatch(order, patched ?? [], mergeKey, fieldPath, key);
    let merged: unknown[];
    if (patched === undefined) {
      merged = live ?? [];
    } else if (live !== undefined && strategiesOf(fieldSchema).includes('merge')) {
      merged = mergeList(live, patched, fieldSchema, fieldPath);
    } else {
      merged = fresh(patched, fieldPath) as unknown[];
    }
    setOwn(original, field, reorder(merged, order, live ?? [], mergeKey));
    delete patch[field];
  }
}

/** kubectl lists the patch's items in the same relative order as `$setElementOrder`; refuse otherwise. */
function checkOrderMatchesPatch(
  order: unknown[],
  patched: unknown[],
  mergeKey: string | undefined,
  path: string,
  key: string,
): void {
  if (mergeKey !== undefined) {
    order.forEach((item, i) => {
      if (!isJsonObject(item) || !hasOwn(item, mergeKey)) {
        throw missingKey(path, `item ${i} of ${key}`, mergeKey);
      }
    });
  }
  const items = patched.filter((item) => !(isJsonObject(item) && hasOwn(item, PATCH)));
  let next = 0;
  for (const entry of order) {
    if (next < items.length && jsonEqual(identity(items[next], mergeKey), identity(entry, mergeKey))) next++;
  }
  if (next < items.length) {
    throw new PatchError(`${where(path)}: the items of the patch are not in the order given by ${key}`);
  }
}

/** `$retainKeys` lists every key the map keeps; the others are cleared from the live map. */
function applyRetainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) {
    throw new PatchError(`${where(path)}: ${RETAIN_KEYS} must be a list of field names`);
  }
  const keep = new Set<unknown>(retain);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM) || keep.has(key)) continue;
    throw new PatchError(
      `${where(path)}: field "${key}" is set by the patch but missing from ${RETAIN_KEYS}`,
    );
  }
  for (const key of Object.keys(original)) if (!keep.has(key)) delete original[key];
}

/** `$deleteFromPrimitiveList/<field>: [values]` removes every occurrence of those values. */
function deleteFromPrimitiveList(original: JsonObject, key: string, values: unknown, path: string): void {
  const field = directiveField(key, DELETE_FROM, path);
  if (!Array.isArray(values)) throw new PatchError(`${where(path)}: ${key} must be a list`);
  const current = hasOwn(original, field) ? original[field] : undefined;
  if (!Array.isArray(current)) return;
  setOwn(
    original,
    field,
    current.filter((item) => !values.some((v) => jsonEqual(v, item))),
  );
}

const DROP = Symbol('drop');

/**
 * A patch value landing where there is nothing to merge with: nulls inside maps are dropped, a
 * map saying `$patch: delete` disappears, `$patch: replace` is just the map, and list items that
 * are directives are removed.
 */
function fresh(value: unknown, path: string): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => !(isJsonObject(item) && hasOwn(item, PATCH)))
      .map((item, i) => fresh(item, `${path}[${i}]`));
  }
  if (!isJsonObject(value)) return value;
  if (hasOwn(value, PATCH)) {
    if (value[PATCH] === 'delete') return DROP;
    if (value[PATCH] !== 'replace') throw badDirective(path, value[PATCH]);
  }
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null || isDirectiveKey(key)) continue;
    const copy = fresh(item, path === '' ? key : `${path}.${key}`);
    if (copy !== DROP) setOwn(result, key, copy);
  }
  return result;
}

const isDirectiveKey = (key: string): boolean =>
  key === PATCH ||
  key === RETAIN_KEYS ||
  key.startsWith(`${SET_ORDER}/`) ||
  key.startsWith(`${DELETE_FROM}/`);

/** Removes directive keys and directive list items anywhere in the result. */
function stripDirectives(value: unknown): JsonObject {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.filter((item) => !(isJsonObject(item) && hasOwn(item, PATCH))).map(strip);
    if (!isJsonObject(v)) return v;
    for (const key of Object.keys(v)) {
      if (isDirectiveKey(key)) delete v[key];
      else setOwn(v, key, strip(v[key]));
    }
    return v;
  };
  return strip(value) as JsonObject;
}

/**
 * apimachinery's order for a merged list: the items named in `order` (the patch list, or
 * `$setElementOrder`) sorted as there; the other items sorted as in the live list; then the two
 * interleaved so that an other item goes before a named one whenever it came first in the live list.
 */
function reorder(
  merged: unknown[],
  order: unknown[],
  live: unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const position = (list: unknown[], item: unknown): number =>
    list.findIndex((entry) => jsonEqual(identity(entry, mergeKey), identity(item, mergeKey)));
  const byPosition =
    (list: unknown[]) =>
    (a: unknown, b: unknown): number => {
      const pa = position(list, a);
      const pb = position(list, b);
      return pa >= 0 && pb >= 0 ? pa - pb : 0;
    };
  const named = merged.filter((item) => position(order, item) >= 0).sort(byPosition(order));
  const others = merged.filter((item) => position(order, item) < 0).sort(byPosition(live));
  const livesBefore = (a: unknown, b: unknown): boolean => {
    const pa = position(live, a);
    const pb = position(live, b);
    return pa >= 0 && pb >= 0 && pa < pb;
  };
  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < others.length || j < named.length) {
    if (j >= named.length || (i < others.length && livesBefore(others[i], named[j]))) {
      result.push(others[i++]);
    } else {
      result.push(named[j++]);
    }
  }
  return result;
}

/** What identifies a list item: its merge key's value, or the item itself. */
const identity = (item: unknown, mergeKey: string | undefined): unknown =>
  mergeKey === undefined ? item : isJsonObject(item) && hasOwn(item, mergeKey) ? item[mergeKey] : undefined;

const dedupe = (items: unknown[]): unknown[] =>
  items.filter((item, i) => items.findIndex((o) => jsonEqual(o, item)) === i);

/** Merging works on lists of scalars or lists of objects, not on a mix and not on lists of lists. */
function elementKind(path: string, ...lists: unknown[][]): 'scalar' | 'object' {
  const kinds = new Set(
    lists.flat().map((item) => (Array.isArray(item) ? 'list' : isJsonObject(item) ? 'object' : 'scalar')),
  );
  if (kinds.has('list')) throw new PatchError(`${where(path)}: cannot merge a list of lists`);
  if (kinds.size > 1) {
    throw new PatchError(`${where(path)}: cannot merge a list that mixes objects and scalars`);
  }
  return kinds.has('object') ? 'object' : 'scalar';
}

function listAt(map: JsonObject, field: string, path: string): unknown[] | undefined {
  if (!hasOwn(map, field)) return undefined;
  const value = map[field];
  if (!Array.isArray(value)) {
    throw new PatchError(`${where(path)}: expected a list alongside ${SET_ORDER}/${field}`);
  }
  return value as unknown[];
}

function directiveField(key: string, prefix: string, path: string): string {
  const field = key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : '';
  if (field === '') {
    throw new PatchError(`${where(path)}: directive "${key}" must have the form ${prefix}/<field>`);
  }
  return field;
}

const where = (path: string): string => (path === '' ? 'patch' : path);

const badDirective = (path: string, directive: unknown): PatchError =>
  new PatchError(
    `${where(path)}: unknown ${PATCH} directive ${JSON.stringify(directive)} (expected "replace" or "delete")`,
  );

const missingKey = (path: string, what: string, mergeKey: string): PatchError =>
  new PatchError(`${where(path)}: ${what} has no merge key "${mergeKey}"`);

/** The schema of a map's field: a declared property, else the map's value schema. */
function propertySchema(schema: Schema, key: string): Schema {
  if (schema === undefined) return undefined;
  const properties = schema.properties;
  if (properties !== undefined && hasOwn(properties, key)) return properties[key];
  for (const branch of branchesOf(schema)) {
    const found = propertySchema(branch, key);
    if (found !== undefined) return found;
  }
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

function itemsSchema(schema: Schema): Schema {
  if (schema === undefined) return undefined;
  if (schema.items !== undefined && !isSchemaTuple(schema.items)) return schema.items;
  for (const branch of branchesOf(schema)) {
    const found = itemsSchema(branch);
    if (found !== undefined) return found;
  }
  return undefined;
}

const isSchemaTuple = (
  items: JsonSchemaLike | readonly JsonSchemaLike[],
): items is readonly JsonSchemaLike[] => Array.isArray(items);

const branchesOf = (schema: JsonSchemaLike): readonly JsonSchemaLike[] => [
  ...(schema.allOf ?? []),
  ...(schema.anyOf ?? []),
  ...(schema.oneOf ?? []),
];

/** The schema itself or the first allOf/anyOf/oneOf branch that carries patch metadata. */
function patchMetaOf(schema: Schema): JsonSchemaLike | undefined {
  if (schema === undefined) return undefined;
  if (
    schema['x-kubernetes-patch-strategy'] !== undefined ||
    schema['x-kubernetes-patch-merge-key'] !== undefined
  )
    return schema;
  for (const branch of branchesOf(schema)) {
    const found = patchMetaOf(branch);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `x-kubernetes-patch-strategy` as a list: "merge", "replace", "retainKeys", or e.g. "merge,retainKeys". */
const strategiesOf = (schema: Schema): string[] =>
  (patchMetaOf(schema)?.['x-kubernetes-patch-strategy'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const mergeKeyOf = (schema: Schema): string | undefined =>
  patchMetaOf(schema)?.['x-kubernetes-patch-merge-key'];
