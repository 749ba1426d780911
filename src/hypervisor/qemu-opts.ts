/**
 * QEMU's `key=value,key=value` option syntax. A comma inside a value must be doubled, or QEMU reads
 * the rest as another option: every value that comes from a user or a path goes through here.
 */

export type OptValue = string | number | boolean | undefined;

/** Escapes a value for a QEMU option list. */
export function escapeOpt(value: string): string {
  return value.replaceAll(',', ',,');
}

/**
 * `head,key=value,…` in the fields' insertion order, booleans as on/off, undefined values left out,
 * an array as the key repeated (`hostfwd=…,hostfwd=…`). `head` is written as given (a driver name,
 * or a `unix:` address whose path the caller escaped).
 */
export function opts(
  head: string | undefined,
  fields: Readonly<Record<string, OptValue | readonly OptValue[]>>,
): string {
  const parts = head === undefined ? [] : [head];
  for (const [key, field] of Object.entries(fields)) {
    for (const value of Array.isArray(field) ? (field as readonly OptValue[]) : [field as OptValue]) {
      if (value === undefined) continue;
      const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
      parts.push(`${key}=${escapeOpt(text)}`);
    }
  }
  return parts.join(',');
}
