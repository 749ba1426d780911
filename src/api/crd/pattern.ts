/**
 * `pattern` of a CRD schema, compiled once with V8's linear-time regular expression engine: like
 * kube-apiserver's RE2, it cannot backtrack, so a hostile pattern (`^(a|a)*b$`) on a long value
 * cannot hold the server. Patterns that need backtracking (back-references, look-arounds) are
 * refused when the CRD is written, as RE2 refuses them.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');

const compiled = new Map<string, RegExp>();
/** Bounds the cache: a CRD's patterns are few, but CRDs come and go. */
const MAX_CACHED = 2000;

/** The pattern as a linear-time RegExp, or the reason it cannot be one. */
export function compilePattern(pattern: string): RegExp | string {
  const hit = compiled.get(pattern);
  if (hit !== undefined) return hit;
  let re: RegExp;
  try {
    // The linear engine's flag, unknown to the linter's ECMAScript table.
    // eslint-disable-next-line no-invalid-regexp
    re = new RegExp(pattern, 'l');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(pattern, re);
  return re;
}
