/**
 * LimitRange rules: what a LimitRange may say (kube-apiserver's validation: min ≤ defaultRequest ≤
 * default ≤ max, no defaults for type Pod, ratios of at least 1), and how it bounds what a VMI asks
 * as the LimitRanger admission plugin bounds the virt-launcher pod's compute container.
 */
import type { FieldError } from '../kind.js';
import { parseQuantity } from '../quantity.js';
import type { LimitRange, LimitRangeItem } from '../core/quota.js';
import { formatQuotaAmount } from './names.js';

type List = Record<string, string | number>;
const amount = (q: string | number | undefined): number | undefined =>
  q === undefined ? undefined : parseQuantity(q)?.value;
const text = (q: string | number): string => String(q);

const RESOURCE_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;

function itemErrors(item: LimitRangeItem, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const lists: [keyof LimitRangeItem, List | undefined][] = [
    ['max', item.max],
    ['min', item.min],
    ['default', item.default],
    ['defaultRequest', item.defaultRequest],
    ['maxLimitRequestRatio', item.maxLimitRequestRatio],
  ];
  for (const [field, list] of lists)
    for (const name of Object.keys(list ?? {}))
      if (!RESOURCE_NAME.test(name))
        errors.push({
          path: `${at}.${field}[${name}]`,
          message: `Invalid value: ${JSON.stringify(name)}: must be a standard resource type or fully qualified`,
        });
  if (item.type === 'Pod') {
    for (const field of ['default', 'defaultRequest'] as const)
      for (const name of Object.keys(item[field] ?? {}))
        errors.push({
          path: `${at}.${field}[${name}]`,
          reason: 'FieldValueForbidden',
          message: `Forbidden: may not be specified when \`type\` is 'Pod'`,
        });
  }
  const names = new Set(lists.flatMap(([, l]) => Object.keys(l ?? {})));
  for (const name of names) {
    const min = item.min?.[name];
    const max = item.max?.[name];
    const def = item.default?.[name];
    const req = item.defaultRequest?.[name];
    const gt = (a: string | number | undefined, b: string | number | undefined): boolean =>
      a !== undefined && b !== undefined && (amount(a) ?? 0) > (amount(b) ?? 0);
    const bad = (field: string, message: string): void => {
      errors.push({ path: `${at}.${field}[${name}]`, message: `Invalid value: ${message}` });
    };
    if (gt(min, max))
      bad(
        'min',
        `"${text(min ?? '')}": min value ${text(min ?? '')} is greater than max value ${text(max ?? '')}`,
      );
    if (gt(req, def))
      bad(
        'defaultRequest',
        `"${text(req ?? '')}": default request value ${text(req ?? '')} is greater than default limit value ${text(def ?? '')}`,
      );
    if (gt(min, req))
      bad(
        'defaultRequest',
        `"${text(req ?? '')}": min value ${text(min ?? '')} is greater than default request value ${text(req ?? '')}`,
      );
    if (gt(req, max))
      bad(
        'defaultRequest',
        `"${text(req ?? '')}": default request value ${text(req ?? '')} is greater than max value ${text(max ?? '')}`,
      );
    if (gt(min, def))
      bad(
        'default',
        `"${text(def ?? '')}": min value ${text(min ?? '')} is greater than default value ${text(def ?? '')}`,
      );
    if (gt(def, max))
      bad(
        'default',
        `"${text(def ?? '')}": default value ${text(def ?? '')} is greater than max value ${text(max ?? '')}`,
      );
    const ratio = item.maxLimitRequestRatio?.[name];
    if (ratio !== undefined && (amount(ratio) ?? 0) < 1)
      bad('maxLimitRequestRatio', `"${text(ratio)}": ratio ${text(ratio)} is less than 1`);
  }
  return errors;
}

export function validateLimitRange(lr: LimitRange): FieldError[] {
  return (lr.spec.limits ?? []).flatMap((item, i) => itemErrors(item, `spec.limits[${i}]`));
}

/** What a VMI's launcher container asks: `requests.cpu`, `limits.memory`… in base units. */
export type Asked = Record<string, number>;

/**
 * Fills the limits and requests `asked` lacks from the Container items' `default` and
 * `defaultRequest`, as LimitRanger does for a container that sets none.
 */
export function applyLimitDefaults(asked: Asked, ranges: readonly LimitRange[]): Asked {
  const out: Asked = { ...asked };
  for (const lr of ranges)
    for (const item of lr.spec.limits)
      if (item.type === 'Container') {
        for (const [name, q] of Object.entries(item.default ?? {}))
          if (out[`limits.${name}`] === undefined) out[`limits.${name}`] = amount(q) ?? 0;
        for (const [name, q] of Object.entries(item.defaultRequest ?? {}))
          if (out[`requests.${name}`] === undefined) out[`requests.${name}`] = amount(q) ?? 0;
      }
  return out;
}

/**
 * Why what a VMI asks breaks a LimitRange, as LimitRanger words it (`maximum cpu usage per
 * Container is 2, but limit is 4`), one message per broken bound; empty when it breaks none.
 */
export function limitRangeViolations(asked: Asked, ranges: readonly LimitRange[]): string[] {
  const out: string[] = [];
  for (const lr of ranges)
    for (const item of lr.spec.limits) {
      if (item.type === 'PersistentVolumeClaim') continue;
      const per = item.type;
      for (const [name, q] of Object.entries(item.min ?? {})) {
        const min = amount(q) ?? 0;
        const req = asked[`requests.${name}`];
        const lim = asked[`limits.${name}`];
        if (req === undefined)
          out.push(`minimum ${name} usage per ${per} is ${text(q)}.  No request is specified`);
        else if (req < min)
          out.push(
            `minimum ${name} usage per ${per} is ${text(q)}, but request is ${formatQuotaAmount(name, req)}`,
          );
        if (lim !== undefined && lim < min)
          out.push(
            `minimum ${name} usage per ${per} is ${text(q)}, but limit is ${formatQuotaAmount(name, lim)}`,
          );
      }
      for (const [name, q] of Object.entries(item.max ?? {})) {
        const max = amount(q) ?? 0;
        const lim = asked[`limits.${name}`];
        if (lim === undefined)
          out.push(`maximum ${name} usage per ${per} is ${text(q)}.  No limit is specified`);
        else if (lim > max + 1e-9)
          out.push(
            `maximum ${name} usage per ${per} is ${text(q)}, but limit is ${formatQuotaAmount(name, lim)}`,
          );
      }
      for (const [name, q] of Object.entries(item.maxLimitRequestRatio ?? {})) {
        const req = asked[`requests.${name}`];
        const lim = asked[`limits.${name}`];
        if (req === undefined || lim === undefined || req === 0) continue;
        if (lim / req > (amount(q) ?? Infinity) + 1e-9)
          out.push(
            `${name} max limit to request ratio per ${per} is ${text(q)}, but provided ratio is ${(lim / req).toFixed(6)}`,
          );
      }
    }
  return out;
}

/** Why a claim's storage request breaks a PersistentVolumeClaim item (LimitRanger's words). */
export function claimViolations(storage: number, ranges: readonly LimitRange[]): string[] {
  const out: string[] = [];
  for (const lr of ranges)
    for (const item of lr.spec.limits) {
      if (item.type !== 'PersistentVolumeClaim') continue;
      const min = item.min?.['storage'];
      const max = item.max?.['storage'];
      if (min !== undefined && storage < (amount(min) ?? 0))
        out.push(
          `minimum storage usage per PersistentVolumeClaim is ${text(min)}, but request is ${formatQuotaAmount('storage', storage)}`,
        );
      if (max !== undefined && storage > (amount(max) ?? 0))
        out.push(
          `maximum storage usage per PersistentVolumeClaim is ${text(max)}, but request is ${formatQuotaAmount('storage', storage)}`,
        );
    }
  return out;
}
