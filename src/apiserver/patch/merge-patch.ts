/**
 * JSON merge patch (RFC 7386), the `application/merge-patch+json` PATCH body and what `kubectl
 * patch --type merge` sends. Also the small JSON value helpers the other patch formats share:
 * patches arrive as parsed JSON, so "object", "equal" and "copy" here mean their JSON senses, and a
 * key spelled `__proto__` is an ordinary key, never a prototype.
 */

export type JsonObject = { [key: string]: unknown };

/** A JSON object: not null, not an array. */
export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const hasOwn = (object: JsonObject, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(object, key);

/** Sets an own data property, so that `__proto__` from a request body stays data. */
export function setOwn(object: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** A deep copy of a JSON value. */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneJson(item)) as T;
  if (isJsonObject(value)) {
    const copy: JsonObject = {};
    for (const [key, item] of Object.entries(value)) setOwn(copy, key, cloneJson(item));
    return copy as T;
  }
  return value;
}

/** JSON equality: key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item: unknown, i) => jsonEqual(item, b[i]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Applies `patch` to `target` and returns the result; neither input is modified and the result
 * shares no structure with them. Objects merge key by key, `null` removes a key, anything else
 * (arrays included) replaces the target value.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  mergeInto(result, patch);
  return result;
}

function mergeInto(result: JsonObject, patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value)) {
      const current = hasOwn(result, key) ? result[key] : undefined;
      const merged: JsonObject = isJsonObject(current) ? current : {};
      mergeInto(merged, value);
      setOwn(result, key, merged);
    } else {
      setOwn(result, key, cloneJson(value));
    }
  }
}

/**
 * The merge patch that turns `from` into `to`: removed keys become `null`, changed values are
 * given whole (arrays included), unchanged keys are left out. A `null` inside `to` cannot be
 * expressed by a merge patch and comes out as a removal.
 */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isJsonObject(from) || !isJsonObject(to)) return cloneJson(to);
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) {
    if (!hasOwn(to, key)) setOwn(patch, key, null);
  }
  for (const [key, value] of Object.entries(to)) {
    const before = hasOwn(from, key) ? from[key] : undefined;
    if (before !== undefined && jsonEqual(before, value)) continue;
    setOwn(
      patch,
      key,
      isJsonObject(before) && isJsonObject(value) ? createMergePatch(before, value) : cloneJson(value),
    );
  }
  return patch;
}
