/**
 * Backup plans as the Backup plans page shows and creates them: the Plan its create form makes,
 * with retention as Hikube's prefixed annotations (Cozystack's Plan has no field for it; the API
 * server checks them), and the retention a plan keeps, in words.
 */
import type { Plan } from '../api/types.js';
import { API_VERSION } from '../vms/backups.js';

export const KEEP_ANNOTATION = 'backups.hikube.io/keep';
export const MAX_AGE_ANNOTATION = 'backups.hikube.io/max-age';

/** The Backup plans page's create form, as typed. */
export interface PlanForm {
  name: string;
  namespace: string;
  kind: string;
  application: string;
  cron: string;
  backupClassName: string;
  keep: string;
  maxAge: string;
}

/** The API group of an application kind the form offers. */
export const groupOfKind = (kind: string): string =>
  kind === 'VirtualMachine' ? 'kubevirt.io' : 'apps.cozystack.io';

export function buildPlan(f: PlanForm): Plan {
  const keep = f.keep.trim();
  const maxAge = f.maxAge.trim();
  const annotations = {
    ...(keep !== '' ? { [KEEP_ANNOTATION]: keep } : {}),
    ...(maxAge !== '' ? { [MAX_AGE_ANNOTATION]: maxAge } : {}),
  };
  return {
    apiVersion: API_VERSION,
    kind: 'Plan',
    metadata: {
      name: f.name.trim(),
      namespace: f.namespace.trim(),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      applicationRef: { apiGroup: groupOfKind(f.kind), kind: f.kind, name: f.application.trim() },
      backupClassName: f.backupClassName.trim(),
      schedule: { type: 'cron', cron: f.cron.trim() },
    },
  };
}

export function planRetention(p: Plan): string {
  const a = p.metadata.annotations ?? {};
  const parts = [
    ...(a[KEEP_ANNOTATION] !== undefined ? [`newest ${a[KEEP_ANNOTATION]}`] : []),
    ...(a[MAX_AGE_ANNOTATION] !== undefined ? [`≤ ${a[MAX_AGE_ANNOTATION]} old`] : []),
  ];
  return parts.length === 0 ? 'all' : parts.join(', ');
}
