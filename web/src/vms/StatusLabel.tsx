/**
 * printableStatus as a coloured label. The set of statuses is the schema's (src/api/kubevirt/status.ts):
 * this record must name every one of them, so the compiler flags a status added there and not here.
 */
import { Label, type LabelProps } from '@patternfly/react-core';
import type { PrintableStatus } from '../api/types';

type Tone = { color: NonNullable<LabelProps['color']>; status?: NonNullable<LabelProps['status']> };

const ok: Tone = { color: 'green', status: 'success' };
const progress: Tone = { color: 'blue', status: 'info' };
const idle: Tone = { color: 'grey' };
const warn: Tone = { color: 'orange', status: 'warning' };
const bad: Tone = { color: 'red', status: 'danger' };

export const STATUS_TONES: Record<PrintableStatus, Tone> = {
  Running: ok,
  Stopped: idle,
  Provisioning: progress,
  Starting: progress,
  Paused: { color: 'yellow' },
  Stopping: warn,
  Terminating: warn,
  Migrating: { color: 'purple' },
  WaitingForVolumeBinding: progress,
  WaitingForReceiver: progress,
  CrashLoopBackOff: bad,
  ErrorUnschedulable: bad,
  ErrImagePull: bad,
  ImagePullBackOff: bad,
  ErrorPvcNotFound: bad,
  DataVolumeError: bad,
  Unknown: idle,
};

/** Every printableStatus the schema knows, in the record's order (for filters). */
export const ALL_STATUSES = Object.keys(STATUS_TONES) as PrintableStatus[];

export function StatusLabel({ status }: { status: PrintableStatus }) {
  const tone = STATUS_TONES[status];
  return (
    <Label
      color={tone.color}
      {...(tone.status !== undefined ? { status: tone.status } : {})}
      data-testid="vm-status"
    >
      {status}
    </Label>
  );
}
