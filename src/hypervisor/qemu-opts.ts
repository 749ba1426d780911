/**
 * QEMU's `key=value,key=value` option syntax: the one rule for every value that reaches a QEMU
 * option string (render.ts and render-disks.ts write argv only through here). A comma inside a
 * value must be doubled, or QEMU reads the rest as another option, so every value goes through
 * escapeOpt. A name that selects something (a machine type, a CPU model or flag, the head of an
 * option list) cannot be escaped: QEMU splits it before unescaping or reads `=` in it as a key, so
 * optName refuses anything but a plain name.
 */
import { MachineError } from './errors.js';

export type OptValue = string | number | boolean | undefined;

/** Escapes a value for a QEMU option list. */
export function escapeOpt(value: string): string {
  return value.replaceAll(',', ',,');
}

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A value QEMU reads as a name (`-machine TYPE,…`, `-cpu MODEL,+FLAG`), returned as is.
 * @throws MachineError (cause at `field`) when it is not a plain name; admission refuses such values first.
 */
export function optName(value: string, field: string): string {
  if (PLAIN_NAME.test(value)) return value;
  throw new MachineError([
    {
      path: field,
      message: `Invalid value: ${JSON.stringify(value)}: cannot be written as a QEMU option (letters, digits, '.', '_' and '-' only)`,
    },
  ]);
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
