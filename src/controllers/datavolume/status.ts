/**
 * A DataVolume's status as CDI reports it, as one pure reducer: what happened (the claim is
 * pending, the transfer started, 47.3% done, failed and will retry, succeeded…) → phase,
 * `progress` ("47.30%"), `restartCount` and the Bound/Ready/Running conditions with their reasons.
 * Reasons here are the ones the controller's events use too.
 */
import type { DataVolume, DataVolumeCondition, DataVolumePhase } from '../../api/cdi/datavolume.js';
import { timestamp } from '../../api/kubevirt/vmistatus.js';

export type DvStatus = NonNullable<DataVolume['status']>;
export type SourceKind = 'http' | 'registry' | 'pvc' | 'upload' | 'blank';

export const DvReason = {
  Bound: 'Bound',
  Pending: 'Pending',
  NotFound: 'NotFound',
  TransferRunning: 'TransferRunning',
  Completed: 'Completed',
  Error: 'Error',
} as const;

export type DvEvent =
  | { type: 'ClaimMissing'; reason: string; message: string }
  | { type: 'ClaimPending'; claim: string }
  | { type: 'ClaimBound'; claim: string }
  | { type: 'Scheduled'; source: SourceKind; message: string }
  | { type: 'Running'; source: SourceKind; message: string }
  | { type: 'Progress'; percent: number }
  | { type: 'Retrying'; reason: string; message: string }
  | { type: 'Succeeded'; source: SourceKind }
  | { type: 'Failed'; reason: string; message: string };

const SCHEDULED: Record<SourceKind, DataVolumePhase> = {
  http: 'ImportScheduled',
  registry: 'ImportScheduled',
  blank: 'ImportScheduled',
  pvc: 'CloneScheduled',
  upload: 'UploadScheduled',
};
const RUNNING: Record<SourceKind, DataVolumePhase> = {
  http: 'ImportInProgress',
  registry: 'ImportInProgress',
  blank: 'ImportInProgress',
  pvc: 'CloneInProgress',
  upload: 'UploadReady',
};
const COMPLETE: Record<SourceKind, string> = {
  http: 'Import Complete',
  registry: 'Import Complete',
  blank: 'Import Complete',
  pvc: 'Clone Complete',
  upload: 'Upload Complete',
};

/** CDI's progress text: two decimals and a percent sign; N/A before anything is known. */
export const formatProgress = (percent: number): string =>
  `${Math.min(100, Math.max(0, percent)).toFixed(2)}%`;

export const isFinalPhase = (phase: string | undefined): boolean =>
  phase === 'Succeeded' || phase === 'Failed';

export function reduceDvStatus(previous: DvStatus | undefined, event: DvEvent, now: Date): DvStatus {
  const s: DvStatus = structuredClone(previous ?? {});
  s.progress ??= 'N/A';
  s.restartCount ??= 0;
  const set = (type: string, status: 'True' | 'False' | 'Unknown', reason = '', message = ''): void => {
    s.conditions = setDvCondition(s.conditions ?? [], { type, status, reason, message }, now);
  };
  // A final phase only changes when the claim goes away under it.
  if (isFinalPhase(s.phase) && event.type !== 'ClaimMissing' && event.type !== 'ClaimBound') return s;
  switch (event.type) {
    case 'ClaimMissing':
      if (!isFinalPhase(s.phase)) s.phase = 'Pending';
      set('Bound', 'False', event.reason, event.message);
      set('Ready', 'False');
      break;
    case 'ClaimPending':
      s.phase = 'Pending';
      s.claimName = event.claim;
      set('Bound', 'False', DvReason.Pending, `PVC ${event.claim} Pending`);
      set('Ready', 'False');
      set('Running', 'False', DvReason.Pending);
      break;
    case 'ClaimBound':
      s.claimName = event.claim;
      if (s.phase === undefined || s.phase === 'Pending') s.phase = 'PVCBound';
      set('Bound', 'True', DvReason.Bound, `PVC ${event.claim} Bound`);
      break;
    case 'Scheduled':
      s.phase = SCHEDULED[event.source];
      set('Ready', 'False');
      set('Running', 'False', DvReason.Pending, event.message);
      break;
    case 'Running':
      s.phase = RUNNING[event.source];
      set('Ready', 'False', DvReason.TransferRunning);
      set('Running', 'True', DvReason.TransferRunning, event.message);
      break;
    case 'Progress':
      s.progress = formatProgress(event.percent);
      break;
    case 'Retrying':
      s.restartCount += 1;
      set('Running', 'False', event.reason, event.message);
      break;
    case 'Succeeded':
      s.phase = 'Succeeded';
      s.progress = '100.0%';
      set('Ready', 'True');
      set('Running', 'False', DvReason.Completed, COMPLETE[event.source]);
      break;
    case 'Failed':
      s.phase = 'Failed';
      set('Ready', 'False');
      set('Running', 'False', event.reason, event.message);
      break;
  }
  s.conditions = order(s.conditions ?? []);
  return s;
}

function setDvCondition(
  list: DataVolumeCondition[],
  c: { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string },
  now: Date,
): DataVolumeCondition[] {
  const old = list.find((x) => x.type === c.type);
  const at = timestamp(now);
  const same = old !== undefined && old.status === c.status;
  const next: DataVolumeCondition = {
    type: c.type,
    status: c.status,
    lastTransitionTime: same ? (old.lastTransitionTime ?? at) : at,
    lastHeartbeatTime: at,
  };
  if (c.reason !== '') next.reason = c.reason;
  if (c.message !== '') next.message = c.message;
  if (old !== undefined && same && old.reason === next.reason && old.message === next.message)
    next.lastHeartbeatTime = old.lastHeartbeatTime ?? at;
  return [...list.filter((x) => x.type !== c.type), next];
}

const ORDER = ['Bound', 'Ready', 'Running'];
const order = (list: DataVolumeCondition[]): DataVolumeCondition[] =>
  [...list].sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type));
