/**
 * ResourceQuota scopes (`spec.scopes`, `spec.scopeSelector`), as Kubernetes defines them for pods,
 * applied to what stands for a pod here: a VirtualMachineInstance (KubeVirt's virt-launcher pod).
 * - Terminating / NotTerminating: a pod with / without `activeDeadlineSeconds`. A launcher pod has
 *   none, so every VMI is NotTerminating.
 * - BestEffort / NotBestEffort: a pod with no requests and limits at all / with some. A launcher pod
 *   always requests memory, so every VMI is NotBestEffort.
 * - PriorityClass: the VMI's `spec.priorityClassName` (In, NotIn, Exists, DoesNotExist).
 * A quota with scopes counts only VMIs that match every requirement, and only the names a pod
 * quota may track (BestEffort: only the count); anything else it names is refused at validation.
 */
import type { FieldError } from '../kind.js';
import type { KubeObject } from '../meta.js';

const VMIS = 'kubevirt.io/virtualmachineinstances';
const SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const OPPOSITE: Record<string, string> = {
  Terminating: 'NotTerminating',
  NotTerminating: 'Terminating',
  BestEffort: 'NotBestEffort',
  NotBestEffort: 'BestEffort',
};

export interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values: string[];
}

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/** Every requirement of a quota's spec: each of `scopes` (as Exists) and each selector expression. */
export function requirementsOf(spec: unknown): ScopeRequirement[] {
  const s = rec(spec);
  const fromScopes = strings(s['scopes']).map((scopeName) => ({ scopeName, operator: 'Exists', values: [] }));
  const expressions = rec(s['scopeSelector'])['matchExpressions'];
  const fromSelector = (Array.isArray(expressions) ? expressions : []).map((e) => {
    const r = rec(e);
    return {
      scopeName: typeof r['scopeName'] === 'string' ? r['scopeName'] : '',
      operator: typeof r['operator'] === 'string' ? r['operator'] : '',
      values: strings(r['values']),
    };
  });
  return [...fromScopes, ...fromSelector];
}

/** Names a scoped quota may track: what a pod quota tracks (a VMI's count stands for `pods`). */
const podTracked = (name: string): boolean =>
  ['pods', 'count/pods', 'count/virtualmachineinstances.kubevirt.io', 'cpu', 'memory'].includes(name) ||
  name.startsWith('requests.') ||
  name.startsWith('limits.');
const bestEffortTracked = (name: string): boolean =>
  ['pods', 'count/pods', 'count/virtualmachineinstances.kubevirt.io'].includes(name);

/** One cause per bad scope, selector expression, or hard name the scopes cannot track. */
export function scopeProblems(spec: unknown): FieldError[] {
  const s = rec(spec);
  const errors: FieldError[] = [];
  strings(s['scopes']).forEach((name, i) => {
    if (!SCOPES.includes(name))
      errors.push({ path: `spec.scopes[${i}]`, message: `Unsupported value: ${JSON.stringify(name)}` });
  });
  const expressions = rec(s['scopeSelector'])['matchExpressions'];
  (Array.isArray(expressions) ? expressions : []).forEach((e, i) => {
    const r = rec(e);
    const at = `spec.scopeSelector.matchExpressions[${i}]`;
    const name = r['scopeName'];
    const op = r['operator'];
    const values = strings(r['values']);
    if (typeof name !== 'string' || !SCOPES.includes(name))
      errors.push({ path: `${at}.scopeName`, message: `Unsupported value: ${JSON.stringify(name)}` });
    if (typeof op !== 'string' || !OPERATORS.includes(op))
      errors.push({ path: `${at}.operator`, message: `Unsupported value: ${JSON.stringify(op)}` });
    else if (name !== 'PriorityClass' && op !== 'Exists')
      errors.push({
        path: `${at}.operator`,
        message: `Invalid value: ${JSON.stringify(op)}: must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort or ResourceQuotaScopeNotBestEffort`,
      });
    else if ((op === 'In' || op === 'NotIn') && values.length === 0)
      errors.push({
        path: `${at}.values`,
        message:
          "Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
      });
    else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0)
      errors.push({
        path: `${at}.values`,
        message:
          "Invalid value: must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
      });
  });
  const requirements = requirementsOf(spec);
  const named = new Set(requirements.filter((r) => r.operator === 'Exists').map((r) => r.scopeName));
  for (const n of named) {
    const other = OPPOSITE[n];
    if (other !== undefined && named.has(other) && n < other)
      errors.push({ path: 'spec.scopes', message: `Invalid value: conflicting scopes ${n} and ${other}` });
  }
  if (requirements.length > 0) {
    const bestEffort = named.has('BestEffort');
    for (const name of Object.keys(rec(s['hard']))) {
      if (bestEffort ? bestEffortTracked(name) : podTracked(name)) continue;
      errors.push({
        path: `spec.hard[${name}]`,
        message: `Invalid value: ${JSON.stringify(name)}: unsupported scope applied to resource`,
      });
    }
  }
  return errors;
}

/** Whether a VMI, as its launcher pod, is in the scope a requirement names. */
function inScope(vmi: KubeObject, r: ScopeRequirement): boolean {
  switch (r.scopeName) {
    case 'NotTerminating':
    case 'NotBestEffort':
      return r.operator === 'Exists';
    case 'Terminating':
    case 'BestEffort':
      return false;
    case 'PriorityClass': {
      const name = rec(vmi['spec'])['priorityClassName'];
      const set = typeof name === 'string' && name !== '';
      if (r.operator === 'Exists') return set;
      if (r.operator === 'DoesNotExist') return !set;
      const listed = set && r.values.includes(name);
      return r.operator === 'In' ? listed : !listed;
    }
    default:
      return false;
  }
}

/** Whether a quota with this spec counts `object`, stored under `resource`. */
export function quotaCounts(spec: unknown, resource: string, object: KubeObject): boolean {
  const requirements = requirementsOf(spec);
  if (requirements.length === 0) return true;
  return resource === VMIS && requirements.every((r) => inScope(object, r));
}
