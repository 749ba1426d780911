/**
 * VirtualMachineClone, as KubeVirt's clone controller: snapshot the source VM (phase
 * SnapshotInProgress; a source that is a snapshot skips this), then a VirtualMachineRestore onto
 * the target with JSON patches that give the clone its own identity (CreatingTargetVM, then
 * RestoreInProgress), then Succeeded. The patches drop the source's MAC addresses (or set
 * newMacAddresses), firmware UUID, hostname and SMBIOS serial (or set newSMBiosSerial); MACs, the
 * UUID and the hostname are then derived from the clone's name, and cloud-init's instance-id is
 * the new VMI's uid.
 *
 * A linked clone reads the snapshot's layers, so the snapshot a clone of a VM took stays (labelled
 * with the clone); deleting it later merges its layers into the clone. A full clone
 * (annotation clone.hikube.io/full: "true") copies the disks and deletes its snapshot.
 */
import { randomBytes } from 'node:crypto';
import {
  FULL_CLONE_ANNOTATION,
  virtualMachineCloneKind,
  type ClonePhase,
  type VirtualMachineClone,
} from '../../api/clone/clone.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { setCondition } from '../../api/snapshot/common.js';
import { virtualMachineRestoreKind, type VirtualMachineRestore } from '../../api/snapshot/restore.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import type { VirtualMachineSnapshotContent } from '../../api/snapshot/content.js';
import { virtualMachineSnapshotContentKind } from '../../api/snapshot/content.js';
import type { SnapshotContext } from './context.js';
import { createOnce } from './restore.js';
import { FULL_RESTORE_ANNOTATION } from './volumes.js';

export const CLONE_LABEL = 'clone.hikube.io/clone';

type Status = NonNullable<VirtualMachineClone['status']>;

export async function syncClone(ctx: SnapshotContext, ns: string, name: string): Promise<void> {
  const { api } = ctx;
  const clone = api.get<VirtualMachineClone>(virtualMachineCloneKind, ns, name);
  if (clone === undefined || clone.metadata.deletionTimestamp !== undefined) return;
  const phase = clone.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return;
  const now = ctx.now().toISOString();
  const uid = clone.metadata.uid ?? '';
  const full = clone.metadata.annotations?.[FULL_CLONE_ANNOTATION] === 'true';
  const owner = {
    apiVersion: 'clone.kubevirt.io/v1beta1',
    kind: 'VirtualMachineClone',
    name,
    uid,
  };
  const setStatus = async (change: (st: Status) => void): Promise<void> => {
    await api.mutate<VirtualMachineClone>(
      virtualMachineCloneKind,
      ns,
      name,
      (c) => {
        c.status ??= {};
        change(c.status);
      },
      true,
    );
  };
  const move = (next: ClonePhase, reason: string, message: string): Promise<void> =>
    setStatus((st) => {
      st.phase = next;
      st.creationTime ??= now;
      st.conditions = setCondition(
        st.conditions,
        'Progressing',
        next === 'Succeeded' ? 'False' : 'True',
        reason,
        message,
        now,
      );
      st.conditions = setCondition(
        st.conditions,
        'Ready',
        next === 'Succeeded' ? 'True' : 'False',
        reason,
        message,
        now,
      );
    });
  const fail = async (reason: string, message: string): Promise<void> => {
    await setStatus((st) => {
      st.phase = 'Failed';
      st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, now);
      st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, now);
    });
    ctx.events.record(clone, 'Warning', 'CloneFailed', message);
  };

  const fromSnapshot = clone.spec.source.kind === 'VirtualMachineSnapshot';
  const targetName =
    clone.status?.targetName ?? clone.spec.target?.name ?? `clone-${randomBytes(4).toString('hex')}`;
  if (phase === undefined || phase === 'Unknown') {
    const missing = await missingSource(ctx, clone);
    if (missing !== undefined) return await waitFor(ctx, clone, missing);
    const target = clone.spec.target?.name;
    if (target !== undefined && api.get(virtualMachineKind, ns, target) !== undefined)
      return fail('TargetExists', `target VirtualMachine ${JSON.stringify(target)} already exists`);
    const snapshotName = fromSnapshot ? clone.spec.source.name : `tmp-snapshot-${uid}`;
    if (!fromSnapshot && api.get(virtualMachineSnapshotKind, ns, snapshotName) === undefined)
      await createOnce(
        api.create<VirtualMachineSnapshot>(virtualMachineSnapshotKind, {
          apiVersion: 'snapshot.kubevirt.io/v1beta1',
          kind: 'VirtualMachineSnapshot',
          metadata: {
            name: snapshotName,
            namespace: ns,
            labels: { [CLONE_LABEL]: name },
            ownerReferences: full ? [owner] : [],
          },
          spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: clone.spec.source.name } },
        }),
      );
    // `??=`: a cache behind the server must not give a clone of no target name a second random one.
    await setStatus((st) => {
      st.snapshotName ??= snapshotName;
      st.targetName ??= targetName;
    });
    return move('SnapshotInProgress', 'SnapshotInProgress', `snapshot ${snapshotName} in progress`);
  }
  const snapshotName = clone.status?.snapshotName ?? '';
  const snap = await ctx.find<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, snapshotName);
  if (phase === 'SnapshotInProgress') {
    if (snap === undefined) return fail('SnapshotDeleted', `snapshot ${snapshotName} is gone`);
    if (snap.status?.phase === 'Failed')
      return fail('SnapshotFailed', snap.status.error?.message ?? 'snapshot failed');
    if (snap.status?.readyToUse !== true) return;
    return move('CreatingTargetVM', 'CreatingTargetVM', `creating VirtualMachine ${targetName}`);
  }
  if (phase === 'CreatingTargetVM') {
    const content =
      snap?.status?.virtualMachineSnapshotContentName === undefined
        ? undefined
        : await ctx.find<VirtualMachineSnapshotContent>(
            virtualMachineSnapshotContentKind,
            ns,
            snap.status.virtualMachineSnapshotContentName,
          );
    const source = content?.spec.source.virtualMachine as unknown as VirtualMachine | undefined;
    if (source === undefined) return fail('SnapshotDeleted', `snapshot ${snapshotName} has no content`);
    const restoreName = `restore-${uid}`;
    if (api.get(virtualMachineRestoreKind, ns, restoreName) === undefined)
      await createOnce(
        api.create<VirtualMachineRestore>(virtualMachineRestoreKind, {
          apiVersion: 'snapshot.kubevirt.io/v1beta1',
          kind: 'VirtualMachineRestore',
          metadata: {
            name: restoreName,
            namespace: ns,
            labels: { [CLONE_LABEL]: name },
            ownerReferences: [owner],
            ...(full ? { annotations: { [FULL_RESTORE_ANNOTATION]: 'true' } } : {}),
          },
          spec: {
            target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: targetName },
            virtualMachineSnapshotName: snapshotName,
            patches: clonePatches(clone, source).map((p) => JSON.stringify(p)),
          },
        }),
      );
    await setStatus((st) => {
      st.restoreName = restoreName;
    });
    return move('RestoreInProgress', 'RestoreInProgress', `restore ${restoreName} in progress`);
  }
  if (phase === 'RestoreInProgress') {
    const restore = await ctx.find<VirtualMachineRestore>(
      virtualMachineRestoreKind,
      ns,
      clone.status?.restoreName ?? '',
    );
    if (restore === undefined) return fail('RestoreDeleted', 'the restore is gone');
    const failure = restore.status?.conditions?.find((c) => c.type === 'Failure' && c.status === 'True');
    if (failure !== undefined) return fail('RestoreFailed', failure.message ?? 'restore failed');
    if (restore.status?.complete !== true) return;
    if (full && !fromSnapshot) await api.delete(virtualMachineSnapshotKind, ns, snapshotName);
    await move('Succeeded', 'Succeeded', `VirtualMachine ${targetName} created`);
    ctx.events.record(
      clone,
      'Normal',
      'CloneSucceeded',
      `Successfully cloned ${clone.spec.source.name} into ${targetName}`,
    );
  }
}

/** What the clone waits for before it starts: its source VM or snapshot, not there or not ready yet. */
async function missingSource(
  ctx: SnapshotContext,
  clone: VirtualMachineClone,
): Promise<{ reason: string; message: string } | undefined> {
  const ns = clone.metadata.namespace ?? '';
  const { kind, name } = clone.spec.source;
  const quoted = JSON.stringify(name);
  if (kind === 'VirtualMachineSnapshot') {
    const snap = await ctx.find<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
    if (snap === undefined)
      return {
        reason: 'SourceDoesNotExist',
        message: `waiting for VirtualMachineSnapshot ${quoted}: it does not exist yet`,
      };
    if (snap.status?.readyToUse !== true && snap.status?.phase !== 'Failed')
      return {
        reason: 'SourceNotReady',
        message: `waiting for VirtualMachineSnapshot ${quoted} to be ready to use`,
      };
    return undefined;
  }
  if ((await ctx.find(virtualMachineKind, ns, name)) === undefined)
    return {
      reason: 'SourceDoesNotExist',
      message: `waiting for VirtualMachine ${quoted}: it does not exist yet`,
    };
  return undefined;
}

/** Says (once per reason) what the clone waits for, in its conditions and an Event. */
async function waitFor(
  ctx: SnapshotContext,
  clone: VirtualMachineClone,
  why: { reason: string; message: string },
): Promise<void> {
  const progressing = clone.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === why.reason && progressing.message === why.message) return;
  const now = ctx.now().toISOString();
  await ctx.api.mutate<VirtualMachineClone>(
    virtualMachineCloneKind,
    clone.metadata.namespace ?? '',
    clone.metadata.name ?? '',
    (c) => {
      c.status ??= {};
      c.status.conditions = setCondition(
        c.status.conditions,
        'Progressing',
        'False',
        why.reason,
        why.message,
        now,
      );
      c.status.conditions = setCondition(c.status.conditions, 'Ready', 'False', why.reason, why.message, now);
    },
    true,
  );
  ctx.events.record(clone, 'Warning', why.reason, why.message);
}

/** Keys kept by a filter list: "*" every key, "key" that key, "!key" not that key (later wins). */
export function filterKeys(
  map: Record<string, string> | undefined,
  filters: string[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) {
    let keep = filters === undefined;
    for (const f of filters ?? []) {
      if (f === '*' || f === k) keep = true;
      else if (f === `!${k}` || (f.startsWith('!') && f.endsWith('*') && k.startsWith(f.slice(1, -1))))
        keep = false;
      else if (f.endsWith('*') && k.startsWith(f.slice(0, -1))) keep = true;
    }
    if (keep) out[k] = v;
  }
  return out;
}

type Op = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** The JSON patches that turn the snapshot's VM into the clone: identity, metadata filters, the user's patches. */
export function clonePatches(clone: VirtualMachineClone, source: VirtualMachine): Op[] {
  const ops: Op[] = [];
  ops.push({
    op: 'replace',
    path: '/metadata/labels',
    value: filterKeys(source.metadata.labels, clone.spec.labelFilters),
  });
  ops.push({
    op: 'replace',
    path: '/metadata/annotations',
    value: filterKeys(source.metadata.annotations, clone.spec.annotationFilters),
  });
  const template = source.spec.template;
  if (template.metadata !== undefined) {
    if (template.metadata.labels !== undefined)
      ops.push({
        op: 'replace',
        path: '/spec/template/metadata/labels',
        value: filterKeys(template.metadata.labels, clone.spec.template?.labelFilters),
      });
    if (template.metadata.annotations !== undefined)
      ops.push({
        op: 'replace',
        path: '/spec/template/metadata/annotations',
        value: filterKeys(template.metadata.annotations, clone.spec.template?.annotationFilters),
      });
  }
  const domain = template.spec?.domain;
  (domain?.devices.interfaces ?? []).forEach((iface, i) => {
    const mac = clone.spec.newMacAddresses?.[iface.name];
    const at = `/spec/template/spec/domain/devices/interfaces/${i}/macAddress`;
    if (mac !== undefined)
      ops.push({ op: iface.macAddress === undefined ? 'add' : 'replace', path: at, value: mac });
    else if (iface.macAddress !== undefined) ops.push({ op: 'remove', path: at });
  });
  // The hostname (cloud-init's local-hostname) then defaults to the clone's name.
  if (template.spec?.hostname !== undefined) ops.push({ op: 'remove', path: '/spec/template/spec/hostname' });
  const firmware = domain?.firmware;
  if (firmware?.uuid !== undefined)
    ops.push({ op: 'remove', path: '/spec/template/spec/domain/firmware/uuid' });
  const serial = clone.spec.newSMBiosSerial;
  if (serial !== undefined) {
    if (firmware === undefined)
      ops.push({ op: 'add', path: '/spec/template/spec/domain/firmware', value: { serial } });
    else
      ops.push({
        op: firmware.serial === undefined ? 'add' : 'replace',
        path: '/spec/template/spec/domain/firmware/serial',
        value: serial,
      });
  } else if (firmware?.serial !== undefined)
    ops.push({ op: 'remove', path: '/spec/template/spec/domain/firmware/serial' });
  for (const p of clone.spec.patches ?? []) ops.push(JSON.parse(p) as Op);
  return ops;
}
