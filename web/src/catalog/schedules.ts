/**
 * Snapshot schedules as the console shows and creates them: the selector in kubectl's notation
 * (`app=web,tier!=db,!legacy`) both ways, and the SnapshotSchedule a create form becomes. Text the
 * form cannot turn into a selector or a count gets a Status cause on its API field, as the server's
 * own refusals do, so both show under the same input (formCauses, before anything is sent).
 */
import { apiVersionOf, SNAPSHOT_SCHEDULES } from '../api/resources.js';
import type { SnapshotSchedule, SnapshotScheduleSpec, StatusCause } from '../api/types.js';

type Selector = SnapshotScheduleSpec['selector'];
type Requirement = NonNullable<Selector['matchExpressions']>[number];

/** `app=web, tier in (a,b)`; '' for {} (every VM of the namespace). */
export function selectorText(selector: Selector | undefined): string {
  const labels = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector?.matchExpressions ?? []).map((e) => {
    switch (e.operator) {
      case 'Exists':
        return e.key;
      case 'DoesNotExist':
        return `!${e.key}`;
      default:
        return `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`;
    }
  });
  return [...labels, ...expressions].join(', ');
}

/**
 * Parses `k=v`, `k==v`, `k!=v`, `k` and `!k` terms separated by commas; undefined when a term is
 * none of these (sets with `in (…)` are left to kubectl and YAML).
 */
export function parseSelector(text: string): Selector | undefined {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: Requirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(term)) !== null)
      matchExpressions.push({ key: m[1] ?? '', operator: 'NotIn', values: [m[2] ?? ''] });
    else if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(term)) !== null) matchLabels[m[1] ?? ''] = m[2] ?? '';
    else if ((m = /^!\s*([^=!\s]+)$/.exec(term)) !== null)
      matchExpressions.push({ key: m[1] ?? '', operator: 'DoesNotExist' });
    else if (/^[^=!\s]+$/.test(term)) matchExpressions.push({ key: term, operator: 'Exists' });
    else return undefined;
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

export interface ScheduleForm {
  name: string;
  namespace: string;
  schedule: string;
  selector: string;
  keep: string;
  maxAge: string;
}

/** Causes for what the form cannot turn into a schedule (the selector, the count); [] when none. */
export function formCauses(form: ScheduleForm): StatusCause[] {
  const causes: StatusCause[] = [];
  if (parseSelector(form.selector) === undefined)
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.selector',
      message: `Invalid value: ${JSON.stringify(form.selector)}: terms such as app=web, tier!=db, backup or !legacy, separated by commas`,
    });
  const keep = form.keep.trim();
  if (keep !== '' && !/^-?\d+$/.test(keep))
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.retention.count',
      message: `Invalid value: ${JSON.stringify(keep)}: a whole number of snapshots`,
    });
  return causes;
}

/** The schedule the form describes (check formCauses first). */
export function buildSchedule(form: ScheduleForm): SnapshotSchedule {
  const selector = parseSelector(form.selector);
  const keep = form.keep.trim();
  const maxAge = form.maxAge.trim();
  const retention = {
    ...(keep !== '' ? { count: Number(keep) } : {}),
    ...(maxAge !== '' ? { maxAge } : {}),
  };
  return {
    apiVersion: apiVersionOf(SNAPSHOT_SCHEDULES),
    kind: 'SnapshotSchedule',
    metadata: { name: form.name.trim(), namespace: form.namespace.trim() },
    spec: {
      schedule: form.schedule.trim(),
      selector: selector ?? {},
      ...(Object.keys(retention).length > 0 ? { retention } : {}),
    },
  };
}

/** Ready, Suspended, or the last error; what the Status column says. */
export function scheduleState(s: SnapshotSchedule): string {
  if (s.spec.suspend === true) return 'Suspended';
  const failure = s.status?.conditions?.find((c) => c.type === 'Failure' && c.status === 'True');
  if (failure !== undefined) return `Failing: ${s.status?.lastError ?? failure.message ?? ''}`;
  const progressing = s.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'True');
  if (progressing !== undefined) return 'Taking snapshots';
  const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' ? 'Active' : (ready?.reason ?? 'Pending');
}

export function retentionText(s: SnapshotSchedule): string {
  const r = s.spec.retention;
  const parts = [
    r?.count !== undefined ? `newest ${r.count}` : undefined,
    r?.maxAge !== undefined ? `up to ${r.maxAge} old` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? 'all' : parts.join(', ');
}
