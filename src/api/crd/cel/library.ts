/**
 * The Kubernetes CEL extension functions that CRD rules use most and @bufbuild/cel does not ship:
 * the list library (isSorted, sum, min, max, indexOf, lastIndexOf), the regex library (find,
 * findAll), optional values for `optionalOldSelf` rules, quantities, and URLs (urls.ts). The string
 * library (lowerAscii, split, trim, substring…) is the library's own `strings` extension, but for
 * `replace` and `join`, which are ours (strings.ts), linear and bounded.
 * Anything else a rule calls is refused when the CRD is written (compile.ts), naming the function.
 */
import { CelScalar, celFunc, celList, celMethod, isCelList, listType, type CelFunc } from '@bufbuild/cel';
import type { CelList, CelValue } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import { parseQuantity } from '../../quantity.js';
import { compilePattern } from '../pattern.js';
import { stringFunctions } from './strings.js';
import { urlFunctions } from './urls.js';
import { listItems as items } from './values.js';

const { DYN, BOOL, INT, STRING, DOUBLE } = CelScalar;
const LIST = listType(DYN);
const LIST_STRING = listType(STRING);

/** Thrown by an extension function; the evaluator turns it into the rule's evaluation error. */
class RuleError extends Error {}

const isNumber = (v: CelValue): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

/** CEL's ordering of two comparable values (numbers of either kind, strings, booleans). */
function compare(a: CelValue, b: CelValue): number {
  if (isNumber(a) && isNumber(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw new RuleError(`no such overload: values of types ${typeof a} and ${typeof b} cannot be compared`);
}

const equal = (a: CelValue, b: CelValue): boolean => {
  if (isNumber(a) && isNumber(b)) return a == b;
  if (isCelList(a) || isCelList(b) || typeof a === 'object' || typeof b === 'object')
    return JSON.stringify(a, jsonSafe) === JSON.stringify(b, jsonSafe);
  return a === b;
};
const jsonSafe = (_k: string, v: unknown): unknown =>
  typeof v === 'bigint' ? `${v}n` : v instanceof Map ? Object.fromEntries(v) : isCelList(v) ? items(v) : v;

function extreme(list: CelList, name: string, sign: 1 | -1): CelValue {
  const all = items(list);
  const [first, ...rest] = all;
  if (first === undefined) throw new RuleError(`${name} called on an empty list`);
  return rest.reduce((best, v) => (compare(v, best) * sign > 0 ? v : best), first);
}

function sum(list: CelList): CelValue {
  const all = items(list);
  if (all.every((v) => typeof v === 'bigint')) return all.reduce((a: bigint, v) => a + v, 0n);
  if (all.every((v) => typeof v === 'number')) return all.reduce((a: number, v) => a + v, 0);
  throw new RuleError('no such overload: sum() takes a list of int or of double');
}

function regex(pattern: string): RegExp {
  // RE2 decides what is a valid pattern (as matches() does); V8's linear engine extracts the match.
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    throw new RuleError(`invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  const re = compilePattern(pattern);
  if (typeof re === 'string') throw new RuleError(`invalid regex ${JSON.stringify(pattern)}: ${re}`);
  return re;
}

function findAll(text: string, pattern: string, limit: bigint | undefined): string[] {
  const re = regex(pattern);
  // The linear engine's flag, unknown to the linter's ECMAScript table.
  // eslint-disable-next-line no-invalid-regexp
  const global = new RegExp(re.source, 'gl');
  const out: string[] = [];
  for (const m of text.matchAll(global)) {
    if (limit !== undefined && limit >= 0n && BigInt(out.length) >= limit) break;
    out.push(m[0]);
    if (m[0] === '') global.lastIndex++;
  }
  return out;
}

function quantity(text: string): string {
  if (parseQuantity(text) === undefined)
    throw new RuleError(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${JSON.stringify(text)}`,
    );
  return text;
}
const amount = (text: string): number => parseQuantity(quantity(text))?.value ?? 0;

/** Optional values (`optionalOldSelf`): none is null, some(v) is v itself. */
const optionals: CelFunc[] = [
  celMethod('hasValue', DYN, [], BOOL, function () {
    return this !== null;
  }),
  celMethod('value', DYN, [], DYN, function () {
    if (this === null) throw new RuleError('optional.none() dereference');
    return this;
  }),
  celMethod('orValue', DYN, [DYN], DYN, function (other) {
    return this ?? other;
  }),
  celFunc('optional.none', [], DYN, () => null),
  celFunc('optional.of', [DYN], DYN, (v) => v),
];

const lists: CelFunc[] = [
  celMethod('isSorted', LIST, [], BOOL, function () {
    const all = items(this);
    return all.every((v, i) => i === 0 || compare(all[i - 1] as CelValue, v) <= 0);
  }),
  celMethod('sum', LIST, [], DYN, function () {
    return sum(this);
  }),
  celMethod('min', LIST, [], DYN, function () {
    return extreme(this, 'min', -1);
  }),
  celMethod('max', LIST, [], DYN, function () {
    return extreme(this, 'max', 1);
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (v) {
    return BigInt(items(this).findIndex((x) => equal(x, v)));
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (v) {
    return BigInt(items(this).findLastIndex((x) => equal(x, v)));
  }),
];

const regexes: CelFunc[] = [
  celMethod('find', STRING, [STRING], STRING, function (pattern) {
    return findAll(this, pattern, 1n)[0] ?? '';
  }),
  celMethod('findAll', STRING, [STRING], LIST_STRING, function (pattern) {
    return celList(findAll(this, pattern, undefined));
  }),
  celMethod('findAll', STRING, [STRING, INT], LIST_STRING, function (pattern, limit) {
    return celList(findAll(this, pattern, limit));
  }),
];

/**
 * Quantities are carried as their text: `quantity(x)` checks it, the methods compare values.
 * Unlike Kubernetes, `==` compares the text: use compareTo or isGreaterThan/isLessThan.
 */
const quantities: CelFunc[] = [
  celFunc('quantity', [STRING], STRING, quantity),
  celFunc('isQuantity', [STRING], BOOL, (s) => parseQuantity(s) !== undefined),
  celMethod('isGreaterThan', STRING, [STRING], BOOL, function (other) {
    return amount(this) > amount(other);
  }),
  celMethod('isLessThan', STRING, [STRING], BOOL, function (other) {
    return amount(this) < amount(other);
  }),
  celMethod('compareTo', STRING, [STRING], INT, function (other) {
    return BigInt(Math.sign(amount(this) - amount(other)));
  }),
  celMethod('asApproximateFloat', STRING, [], DOUBLE, function () {
    return amount(this);
  }),
  celMethod('isInteger', STRING, [], BOOL, function () {
    return Number.isSafeInteger(amount(this));
  }),
  celMethod('asInteger', STRING, [], INT, function () {
    const v = amount(this);
    if (!Number.isSafeInteger(v)) throw new RuleError(`cannot convert quantity ${this} to an integer`);
    return BigInt(v);
  }),
  celMethod('sign', STRING, [], INT, function () {
    return BigInt(Math.sign(amount(this)));
  }),
];

/** Every extension function a rule may call, beside CEL's standard ones. */
export const kubernetesFunctions: CelFunc[] = [
  ...stringFunctions,
  ...lists,
  ...regexes,
  ...optionals,
  ...quantities,
  ...urlFunctions,
];
