/**
 * Runs a CRD's CEL rules over an object as kube-apiserver does: every node of the value with
 * `x-kubernetes-validations` binds `self` to itself, and on update `oldSelf` to the same node of
 * the old object (correlated by field name, map key, and list-map keys); a transition rule runs
 * only where such an old value exists (or always, with `optionalOldSelf`). A rule on a value that
 * did not change is not run again (validation ratcheting), so a rule added later does not block
 * status writes. Each false rule is one cause; the whole walk runs under one Meter.
 */
import { isDeepStrictEqual } from 'node:util';
import { isCelError } from '@bufbuild/cel';
import type { FieldError } from '../../kind.js';
import type { JsonSchema } from '../../validate.js';
import { childPath } from '../../validate.js';
import { reportPath, ROOT, rulesOf, type CompiledRule } from './declared.js';
import { Meter, metered } from './meter.js';
import { childSchema, toCel } from './values.js';

/** No value in the old object at this place (create, or a new list item). */
const ABSENT = Symbol('absent');
type Old = unknown;

interface Walk {
  meter: Meter;
  errors: FieldError[];
  cache: WeakMap<object, unknown>;
  oldCache: WeakMap<object, unknown>;
  /** Where the budget ran out. */
  exhaustedAt?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when the schema or any node below it declares rules: only then is a walk worth it. */
export function hasRules(schema: JsonSchema): boolean {
  const stack: unknown[] = [schema];
  for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
    if (!isObject(s)) continue;
    if (Array.isArray(s['x-kubernetes-validations']) && s['x-kubernetes-validations'].length > 0) return true;
    if (isObject(s['properties'])) stack.push(...Object.values(s['properties']));
    for (const child of [s['items'], s['additionalProperties']]) if (isObject(child)) stack.push(child);
  }
  return false;
}

/** The causes of every failing rule; `old` is the stored object on update. */
export function ruleErrors(
  value: unknown,
  old: unknown,
  schema: JsonSchema,
  meter = new Meter(),
): FieldError[] {
  const w: Walk = { meter, errors: [], cache: new WeakMap(), oldCache: new WeakMap() };
  metered(meter, () => walk(value, old === undefined ? ABSENT : old, schema, '', w));
  if (meter.exhausted)
    w.errors.push({
      path: w.exhaustedAt ?? ROOT,
      reason: 'FieldValueInvalid',
      message: `Invalid value: "object": validation failed due to running out of cost budget, no further validation rules will be run (${meter.steps} steps)`,
    });
  return w.errors;
}

function walk(v: unknown, old: Old, s: JsonSchema, path: string, w: Walk): void {
  if (w.meter.exhausted) return;
  const rules = rulesOf(s);
  if (rules.length > 0) {
    const unchanged = old !== ABSENT && isDeepStrictEqual(v, old);
    for (const rule of rules) {
      if (w.meter.exhausted) return;
      evaluate(rule, v, old, s, path, unchanged, w);
    }
  }
  if (Array.isArray(v)) {
    const items = s.items;
    if (items === undefined) return;
    const olds = correlate(v, old, s);
    v.forEach((item, i) => walk(item, olds[i] ?? ABSENT, items, `${path}[${i}]`, w));
  } else if (isObject(v)) {
    for (const [key, child] of Object.entries(v)) {
      const cs = childSchema(s, key);
      if (cs === undefined) continue;
      const oldChild = isObject(old) && Object.hasOwn(old, key) ? old[key] : ABSENT;
      walk(child, oldChild, cs, childPath(path, key), w);
    }
  }
}

/** Old items of a list-map, by their keys; other lists have no old items (as upstream). */
function correlate(v: unknown[], old: Old, s: JsonSchema): Old[] {
  if (s['x-kubernetes-list-type'] !== 'map' || !Array.isArray(old)) return [];
  const keys = Array.isArray(s['x-kubernetes-list-map-keys'])
    ? (s['x-kubernetes-list-map-keys'] as string[])
    : [];
  const keyOf = (item: unknown): string =>
    JSON.stringify(keys.map((k) => (isObject(item) ? (item[k] ?? null) : null)));
  const byKey = new Map<string, unknown>();
  for (const item of old as unknown[]) byKey.set(keyOf(item), item);
  return v.map((item) => (byKey.has(keyOf(item)) ? byKey.get(keyOf(item)) : ABSENT));
}

function evaluate(
  rule: CompiledRule,
  v: unknown,
  old: Old,
  s: JsonSchema,
  path: string,
  unchanged: boolean,
  w: Walk,
): void {
  const program = rule.program;
  const at = reportPath(path, rule);
  const shown = JSON.stringify(s.type ?? '');
  if (typeof program === 'string') {
    w.errors.push({ path: at, message: `Invalid value: ${shown}: ${program}` });
    return;
  }
  if (program.usesOldSelf && old === ABSENT && !rule.optionalOldSelf) return;
  if (!program.usesOldSelf && unchanged) return;
  if (!w.meter.charge()) {
    w.exhaustedAt ??= at;
    return;
  }
  const bindings = {
    self: toCel(v, s, w.cache),
    oldSelf: old === ABSENT ? null : toCel(old, s, w.oldCache),
  };
  const result = program.run(bindings);
  if (w.meter.exhausted) {
    w.exhaustedAt ??= at;
    return;
  }
  const label = rule.message?.trim() ?? rule.rule.trim();
  if (isCelError(result)) {
    w.errors.push({
      path: at,
      message: `Invalid value: ${shown}: ${result.message} evaluating rule: ${label}`,
    });
    return;
  }
  if (typeof result !== 'boolean') {
    w.errors.push({
      path: at,
      message: `Invalid value: ${shown}: rule did not evaluate to a bool: ${label}`,
    });
    return;
  }
  if (result) return;
  w.errors.push(failure(rule, at, shown, messageOf(rule, bindings, w)));
}

/** `messageExpression` when it yields a non-empty line, else `message`, else `failed rule: <rule>`. */
function messageOf(rule: CompiledRule, bindings: { self: unknown; oldSelf: unknown }, w: Walk): string {
  const fallback = rule.message !== undefined ? rule.message.trim() : `failed rule: ${rule.rule.trim()}`;
  if (rule.messageExpression === undefined || !w.meter.charge()) return fallback;
  const m = rule.messageExpression.run(bindings);
  return typeof m === 'string' && m.trim() !== '' && !/[\r\n]/.test(m) ? m.slice(0, 5000) : fallback;
}

function failure(rule: CompiledRule, path: string, shown: string, detail: string): FieldError {
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return { path, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` };
    case 'FieldValueRequired':
      return { path, reason: 'FieldValueRequired', message: `Required value: ${detail}` };
    case 'FieldValueDuplicate':
      return { path, reason: 'FieldValueDuplicate', message: `Duplicate value: ${shown}` };
    default:
      return { path, reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}` };
  }
}
