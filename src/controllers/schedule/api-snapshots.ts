/**
 * The real ScheduleSnapshots: `snapshot.kubevirt.io/v1beta1` VirtualMachineSnapshots through the
 * controller runtime (reads from its cache, writes to the server, so each obeys the rules of a
 * kubectl write). The kind is looked up when made, not at import: where it is not registered
 * every call rejects with SnapshotsUnavailable.
 */
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { findKindByGvk } from '../../api/registry.js';
import { SCHEDULE_LABEL, SCHEDULED_TIME_ANNOTATION } from '../../api/hikube/snapshotschedule.js';
import type { Manager } from '../../runtime/manager.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import {
  SnapshotsUnavailable,
  type ScheduleSnapshots,
  type ScheduledSnapshot,
  type SnapshotPhase,
} from './snapshots.js';

export const SNAPSHOT_API_VERSION = 'snapshot.kubevirt.io/v1beta1';
export const SNAPSHOT_KIND = 'VirtualMachineSnapshot';

interface VirtualMachineSnapshot extends KubeObject {
  spec?: { source?: { apiGroup?: string; kind?: string; name?: string }; failureDeadline?: string };
  status?: { phase?: string; readyToUse?: boolean; error?: { message?: string } };
}

const PHASES: readonly string[] = ['InProgress', 'Succeeded', 'Failed', 'Unknown'];

/** Made before the manager starts: its cache must hold the snapshots. */
export function apiScheduleSnapshots(
  manager: Manager,
  lookup: () => KindDefinition | undefined = () => findKindByGvk(SNAPSHOT_API_VERSION, SNAPSHOT_KIND),
): ScheduleSnapshots {
  const def = lookup();
  if (def !== undefined) manager.informer(def);
  const api = manager.client;
  const kind = (): KindDefinition => {
    if (def === undefined)
      throw new SnapshotsUnavailable(
        `${SNAPSHOT_KIND}s (${SNAPSHOT_API_VERSION}) are not served by this platform`,
      );
    return def;
  };
  return {
    list(namespace, scheduleName) {
      return Promise.resolve().then(() =>
        api
          .list<VirtualMachineSnapshot>(kind(), namespace)
          .filter((s) => s.metadata.labels?.[SCHEDULE_LABEL] === scheduleName)
          .map(toScheduled),
      );
    },
    async create(namespace, request) {
      const object: VirtualMachineSnapshot = {
        apiVersion: SNAPSHOT_API_VERSION,
        kind: SNAPSHOT_KIND,
        metadata: {
          name: request.name,
          namespace,
          labels: request.labels,
          ...(Object.keys(request.annotations).length > 0 ? { annotations: request.annotations } : {}),
        },
        spec: {
          source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: request.vm },
          ...(request.failureDeadline !== undefined ? { failureDeadline: request.failureDeadline } : {}),
        },
      };
      try {
        await api.create(kind(), object);
        return 'created';
      } catch (err) {
        if (isAlreadyExists(err)) return 'exists';
        throw err;
      }
    },
    async delete(namespace, name) {
      await api.delete(kind(), namespace, name, { propagationPolicy: 'Background' });
    },
    watch(onChange) {
      if (def === undefined) return () => undefined;
      return manager.informer(def).onChange((_type, object) => {
        const schedule = object.metadata.labels?.[SCHEDULE_LABEL];
        if (schedule !== undefined) onChange(object.metadata.namespace ?? '', schedule);
      });
    },
  };
}

function toScheduled(s: VirtualMachineSnapshot): ScheduledSnapshot {
  const stamped = Date.parse(s.metadata.annotations?.[SCHEDULED_TIME_ANNOTATION] ?? '');
  const created = Date.parse(s.metadata.creationTimestamp ?? '');
  const phase = s.status?.phase;
  return {
    name: s.metadata.name ?? '',
    vm: s.spec?.source?.name ?? '',
    scheduledTime: new Date(Number.isFinite(stamped) ? stamped : Number.isFinite(created) ? created : 0),
    phase: phase !== undefined && PHASES.includes(phase) ? (phase as SnapshotPhase) : undefined,
    readyToUse: s.status?.readyToUse === true,
    error: s.status?.error?.message,
    deleting: s.metadata.deletionTimestamp !== undefined,
  };
}
