/**
 * Fixed limits on the shape of any API object, so that one accepted object can never stall or
 * crash the code that later copies, validates, patches or serializes it (all of which recurse).
 * Every decoding path checks nesting before it recurses (src/apiserver/body-limits.ts scans the
 * raw text); the registry checks every object it admits; the store checks every row it loads.
 * `measure` itself walks with an explicit stack and stops as soon as a limit is passed.
 */

/** Levels of nested objects and arrays in one object (the object itself is level 1). */
export const MAX_DEPTH = 100;
/** Size of one object serialized as JSON, like etcd's 1.5 MiB request limit. */
export const MAX_OBJECT_BYTES = 1536 * 1024;

export interface Measure {
  /** Deepest level of nested objects and arrays reached (0 for a scalar). */
  depth: number;
  /** Approximate length of the value as JSON, in bytes (exact for ASCII without escapes). */
  bytes: number;
  /** Which limit was passed; measuring stopped there, so depth and bytes are lower bounds. */
  exceeded?: 'depth' | 'bytes';
}

export interface MeasureLimits {
  depth: number;
  bytes: number;
}

const OBJECT_LIMITS: MeasureLimits = { depth: MAX_DEPTH, bytes: MAX_OBJECT_BYTES };

/** Depth and JSON size of a parsed value, without recursion; stops at the first limit passed. */
export function measure(value: unknown, limits: MeasureLimits = OBJECT_LIMITS): Measure {
  const stack: { value: unknown; level: number }[] = [{ value, level: 0 }];
  let depth = 0;
  let bytes = 0;
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const v = top.value;
    if (typeof v === 'string') bytes += v.length + 2;
    else if (typeof v === 'number') bytes += String(v).length;
    else if (typeof v === 'boolean') bytes += v ? 4 : 5;
    else if (v === null || v === undefined) bytes += 4;
    else if (typeof v === 'object') {
      const level = top.level + 1;
      if (level > depth) depth = level;
      if (depth > limits.depth) return { depth, bytes, exceeded: 'depth' };
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1);
        for (const item of v as unknown[]) stack.push({ value: item, level });
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        bytes += 2 + Math.max(0, entries.length - 1);
        for (const [key, item] of entries) {
          bytes += key.length + 3;
          stack.push({ value: item, level });
        }
      }
    }
    if (bytes > limits.bytes) return { depth, bytes, exceeded: 'bytes' };
  }
  return { depth, bytes };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isOpen = (c: number): boolean => c === 0x5b || c === 0x7b;
const isClose = (c: number): boolean => c === 0x5d || c === 0x7d;

/**
 * Whether JSON text nests its brackets deeper than `limit`: one pass over the bytes, to run before
 * JSON.parse and everything after it.
 */
export function jsonNestsDeeperThan(text: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? 0;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (isOpen(c)) {
      if (++depth > limit) return true;
    } else if (isClose(c)) {
      depth--;
    }
  }
  return false;
}
