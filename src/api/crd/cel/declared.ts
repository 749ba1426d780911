/**
 * The `x-kubernetes-validations` of one schema node: each rule compiled once (cached by node),
 * and the checks kube-apiserver applies when the CRD is written — the rule compiles and calls only
 * functions we provide, `reason` is one of four, `fieldPath` names a field of the schema,
 * `optionalOldSelf` only on a transition rule, `message` on one line, `messageExpression` compiles —
 * each failure one cause at the rule's own path.
 */
import type { FieldError } from '../../kind.js';
import type { JsonSchema } from '../../validate.js';
import { childPath } from '../../validate.js';
import { compileExpression, type CompiledExpression } from './compile.js';
import { estimateCost, overBudget, RULE_COST_LIMIT } from './cost.js';
import { childSchema } from './values.js';

export const RULE_REASONS = [
  'FieldValueInvalid',
  'FieldValueForbidden',
  'FieldValueRequired',
  'FieldValueDuplicate',
] as const;
export type RuleReason = (typeof RULE_REASONS)[number];

export interface CompiledRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: CompiledExpression;
  readonly reason?: RuleReason;
  /** Path segments of `fieldPath`, relative to the node. */
  readonly fieldPath: string[];
  readonly optionalOldSelf: boolean;
  /** The compiled rule, or why it does not compile (a stored CRD accepted by an older server). */
  readonly program: CompiledExpression | string;
}

const cache = new WeakMap<JsonSchema, CompiledRule[]>();

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The node's rules, compiled once. */
export function rulesOf(schema: JsonSchema): CompiledRule[] {
  const hit = cache.get(schema);
  if (hit !== undefined) return hit;
  const declared = schema['x-kubernetes-validations'];
  const list = Array.isArray(declared) ? (declared as unknown[]) : [];
  const rules = list.map((raw): CompiledRule => {
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const rule = text(r['rule']) ?? '';
    const messageExpression = text(r['messageExpression']);
    const compiledMessage =
      messageExpression === undefined ? undefined : compileExpression(messageExpression);
    const reason = text(r['reason']);
    const message = text(r['message']);
    return {
      rule,
      ...(message !== undefined ? { message } : {}),
      ...(typeof compiledMessage === 'object' ? { messageExpression: compiledMessage } : {}),
      ...(RULE_REASONS.includes(reason as RuleReason) ? { reason: reason as RuleReason } : {}),
      fieldPath: parseFieldPath(text(r['fieldPath']) ?? '') ?? [],
      optionalOldSelf: r['optionalOldSelf'] === true,
      program: compileExpression(rule),
    };
  });
  cache.set(schema, rules);
  return rules;
}

/**
 * `fieldPath` as segments: `.spec.replicas`, `.labels['app.kubernetes.io/name']`; undefined when
 * malformed (list indexes are not allowed, as upstream).
 */
export function parseFieldPath(path: string): string[] | undefined {
  const segments: string[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\['((?:[^'\\]|\\.)*)'\]/y;
  let at = 0;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (m === null) return undefined;
    segments.push(m[1] ?? (m[2] ?? '').replace(/\\(.)/g, '$1'));
    at = re.lastIndex;
  }
  return segments;
}

/** Where a node's rules add to the schema's total estimated cost: how many places the node can be at. */
export interface CostContext {
  cardinality: number;
  total: { cost: number };
}

/** The causes of one node's rules when the CRD is written (`at` is the node's path in the CRD). */
export function declarationErrors(
  schema: JsonSchema,
  at: string,
  inLogic: boolean,
  costs: CostContext = { cardinality: 1, total: { cost: 0 } },
): FieldError[] {
  const declared = schema['x-kubernetes-validations'];
  if (declared === undefined) return [];
  const base = `${at}.x-kubernetes-validations`;
  if (inLogic)
    return [
      {
        path: base,
        reason: 'FieldValueForbidden',
        message: 'Forbidden: must be empty to be structural (not allowed inside allOf, anyOf, oneOf or not)',
      },
    ];
  if (!Array.isArray(declared))
    return [
      { path: base, reason: 'FieldValueTypeInvalid', message: 'Invalid value: must be a list of rules' },
    ];
  const errors: FieldError[] = [];
  const compiled = rulesOf(schema);
  (declared as unknown[]).forEach((raw, i) => {
    const p = `${base}[${i}]`;
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const c = compiled[i];
    if (c === undefined) return;
    if (c.rule.trim() === '') {
      errors.push({ path: `${p}.rule`, reason: 'FieldValueRequired', message: 'Required value' });
      return;
    }
    if (typeof c.program === 'object') {
      const cost = estimateCost(c.rule, schema);
      costs.total.cost = Math.min(Number.MAX_SAFE_INTEGER, costs.total.cost + cost * costs.cardinality);
      if (cost > RULE_COST_LIMIT)
        errors.push({
          path: `${p}.rule`,
          reason: 'FieldValueForbidden',
          message: `Forbidden: ${overBudget('estimated rule cost', cost, RULE_COST_LIMIT)}`,
        });
    }
    if (typeof c.program === 'string')
      errors.push({ path: `${p}.rule`, message: `Invalid value: ${JSON.stringify(c.rule)}: ${c.program}` });
    const message = r['message'];
    if (message !== undefined) {
      if (typeof message !== 'string' || message.trim() === '')
        errors.push({
          path: `${p}.message`,
          message: `Invalid value: ${JSON.stringify(message)}: message must be non-empty if specified`,
        });
      else if (/[\r\n]/.test(message))
        errors.push({
          path: `${p}.message`,
          message: `Invalid value: ${JSON.stringify(message)}: message must not contain line breaks`,
        });
    }
    const messageExpression = r['messageExpression'];
    if (messageExpression !== undefined) {
      const m =
        typeof messageExpression === 'string' ? compileExpression(messageExpression) : 'must be a string';
      if (typeof messageExpression === 'string' && messageExpression.trim() === '')
        errors.push({
          path: `${p}.messageExpression`,
          reason: 'FieldValueRequired',
          message: 'Required value: must be non-empty if specified',
        });
      else if (typeof m === 'string')
        errors.push({
          path: `${p}.messageExpression`,
          message: `Invalid value: ${JSON.stringify(messageExpression)}: messageExpression ${m}`,
        });
    }
    const reason = r['reason'];
    if (reason !== undefined && !RULE_REASONS.includes(reason as RuleReason))
      errors.push({
        path: `${p}.reason`,
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(reason)}: supported values: ${RULE_REASONS.map((x) => JSON.stringify(x)).join(', ')}`,
      });
    const fieldPath = r['fieldPath'];
    if (fieldPath !== undefined) {
      const problem = fieldPathProblem(schema, fieldPath);
      if (problem !== undefined)
        errors.push({
          path: `${p}.fieldPath`,
          message: `Invalid value: ${JSON.stringify(fieldPath)}: ${problem}`,
        });
    }
    const optional = r['optionalOldSelf'];
    if (optional === true && typeof c.program === 'object' && !c.program.usesOldSelf)
      errors.push({
        path: `${p}.optionalOldSelf`,
        message: 'Invalid value: true: may not be set if rule does not use oldSelf',
      });
  });
  return errors;
}

function fieldPathProblem(schema: JsonSchema, fieldPath: unknown): string | undefined {
  if (typeof fieldPath !== 'string') return 'must be a string';
  const segments = parseFieldPath(fieldPath);
  if (segments === undefined || segments.length === 0)
    return "must be a valid path: a dot-separated field name or ['key'], starting with '.' (no list index)";
  let node: JsonSchema | undefined = schema;
  for (const segment of segments) {
    node = childSchema(node, segment);
    if (node === undefined)
      return `fieldPath must be a valid path: does not refer to a valid field: ${segment}`;
  }
  return undefined;
}

/** Where a failing rule is reported: the node's path, or its fieldPath below it. */
export const reportPath = (path: string, rule: CompiledRule): string =>
  rule.fieldPath.reduce((p, segment) => childPath(p, segment), path) || ROOT;

/** How kube-apiserver names the root of the object in a cause (a rule on the whole object). */
export const ROOT = '<nil>';
