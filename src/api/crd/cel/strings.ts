/**
 * The string functions a rule can use to build a string much larger than the object it reads:
 * `replace` and `join`, written here instead of taken from @bufbuild/cel's strings extension. Its
 * `replace` rebuilds the whole string at every occurrence (quadratic: one `replace('a', 'b')` over a
 * 1 MiB string held the server for minutes), does nothing for a negative count, and loops on an
 * empty needle. These are linear, follow Go's strings.Replace (which cel-go uses), and refuse to
 * build a string longer than MAX_BUILT_STRING, so a rule cannot grow one past what the server can
 * hold. `format` is left out: its output is not bounded by its inputs' schema.
 */
import { CelScalar, celMethod, listType, type CelFunc, type CelList } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { MAX_OBJECT_BYTES } from '../../limits.js';
import { listItems } from './values.js';

const { STRING, INT } = CelScalar;

/** The longest string a rule may build: a few times the largest object the server stores. */
export const MAX_BUILT_STRING = 4 * MAX_OBJECT_BYTES;

/** Thrown by a string function; the evaluator turns it into the rule's evaluation error. */
class StringError extends Error {}

/** Collects pieces of a result, refusing before it grows past the limit. */
class Builder {
  private readonly parts: string[] = [];
  private length = 0;
  constructor(private readonly fn: string) {}
  add(s: string): void {
    this.length += s.length;
    if (this.length > MAX_BUILT_STRING)
      throw new StringError(`${this.fn} would build a string longer than ${MAX_BUILT_STRING} characters`);
    this.parts.push(s);
  }
  toString(): string {
    return this.parts.join('');
  }
}

/** Go's strings.Replace: the first `n` occurrences (all when n < 0); an empty needle matches before each character and at the end. */
export function replaceText(s: string, needle: string, replacement: string, n = -1n): string {
  const out = new Builder('replace');
  let left = n < 0n ? Infinity : Number(n);
  if (needle === '') {
    for (const ch of s) {
      if (left-- > 0) out.add(replacement);
      out.add(ch);
    }
    if (left > 0) out.add(replacement);
    return out.toString();
  }
  let at = 0;
  for (let i = s.indexOf(needle); i >= 0 && left > 0; i = s.indexOf(needle, at), left--) {
    out.add(s.slice(at, i));
    out.add(replacement);
    at = i + needle.length;
  }
  out.add(s.slice(at));
  return out.toString();
}

function joinList(list: CelList, separator: string): string {
  const out = new Builder('join');
  let first = true;
  for (const item of listItems(list)) {
    if (typeof item !== 'string') throw new StringError('join: list contains a non-string value');
    if (!first) out.add(separator);
    out.add(item);
    first = false;
  }
  return out.toString();
}

const LIST_STRING = listType(STRING);
const OURS = new Set(['replace', 'join', 'format']);

/** The strings extension with our replace and join, without format. */
export const stringFunctions: CelFunc[] = [
  ...strings.filter((f) => !OURS.has(f.name)),
  celMethod('replace', STRING, [STRING, STRING], STRING, function (needle, replacement) {
    return replaceText(this, needle, replacement);
  }),
  celMethod('replace', STRING, [STRING, STRING, INT], STRING, function (needle, replacement, n) {
    return replaceText(this, needle, replacement, n);
  }),
  celMethod('join', LIST_STRING, [], STRING, function () {
    return joinList(this, '');
  }),
  celMethod('join', LIST_STRING, [STRING], STRING, function (separator) {
    return joinList(this, separator);
  }),
];
