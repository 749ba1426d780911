/**
 * VirtualMachineRestore. Onto the snapshot's own VM: once the VM is stopped (targetReadinessPolicy
 * says whether to stop it, wait, or fail), each claim is pointed at a new layer over the
 * snapshot's and the VM spec comes back. Onto a new VM: new claims (volumeRestorePolicy
 * RandomizeNames: `restore-<uid>-<volume>`; InPlace: the original names), filled as linked or
 * full copies before the VM that uses them is created, so the guest never sees a blank disk.
 */
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { setCondition } from '../../api/snapshot/common.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import {
  DEFAULT_TARGET_READINESS_POLICY,
  TARGET_GRACE_PERIOD_MS,
  virtualMachineRestoreKind,
  type VirtualMachineRestore,
} from '../../api/snapshot/restore.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import { applyJsonPatch } from '../../apiserver/patch/json-patch.js';
import { isAlreadyExists } from '../../runtime/transport.js';
import type { SnapshotContext } from './context.js';
import { FULL_RESTORE_ANNOTATION, layersOf, restoredClaimNameOf } from './volumes.js';

type Status = NonNullable<VirtualMachineRestore['status']>;
type Restored = NonNullable<Status['restores']>;
type Claim = KubeObject & { spec?: Record<string, unknown>; status?: { phase?: string } };

const finished = (restore: VirtualMachineRestore | undefined): boolean =>
  restore === undefined ||
  restore.metadata.deletionTimestamp !== undefined ||
  restore.status?.complete === true ||
  (restore.status?.conditions ?? []).some((c) => c.type === 'Failure' && c.status === 'True');

export async function syncRestore(ctx: SnapshotContext, ns: string, name: string): Promise<void> {
  const { api } = ctx;
  if (finished(api.get<VirtualMachineRestore>(virtualMachineRestoreKind, ns, name))) return;
  // Asked of the server, not the cache: a restore done twice would undo what the guest wrote since.
  const restore = await api.getLive<VirtualMachineRestore>(virtualMachineRestoreKind, ns, name);
  if (restore === undefined || finished(restore)) return;
  const now = ctx.now().toISOString();
  const key = `VirtualMachineRestore:${ns}/${name}`;
  const setStatus = async (change: (st: Status) => void): Promise<void> => {
    await api.mutate<VirtualMachineRestore>(
      virtualMachineRestoreKind,
      ns,
      name,
      (r) => {
        r.status ??= {};
        change(r.status);
      },
      true,
    );
  };
  const progress = (reason: string, message: string): Promise<void> =>
    setStatus((st) => {
      st.complete = false;
      st.conditions = setCondition(st.conditions, 'Progressing', 'True', reason, message, now);
      st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, now);
    });
  const fail = async (reason: string, message: string): Promise<void> => {
    await setStatus((st) => {
      st.complete = false;
      st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, now);
      st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, now);
      st.conditions = setCondition(st.conditions, 'Failure', 'True', reason, message, now);
    });
    ctx.events.record(restore, 'Warning', 'VirtualMachineRestoreError', message);
  };

  const snap = await ctx.find<VirtualMachineSnapshot>(
    virtualMachineSnapshotKind,
    ns,
    restore.spec.virtualMachineSnapshotName,
  );
  const content =
    snap?.status?.virtualMachineSnapshotContentName === undefined
      ? undefined
      : await ctx.find<VirtualMachineSnapshotContent>(
          virtualMachineSnapshotContentKind,
          ns,
          snap.status.virtualMachineSnapshotContentName,
        );
  if (snap?.status?.phase === 'Failed')
    return fail(
      'SnapshotFailed',
      `VirtualMachineSnapshot ${JSON.stringify(restore.spec.virtualMachineSnapshotName)} failed`,
    );
  if (snap === undefined || content === undefined || snap.status?.readyToUse !== true) {
    // As KubeVirt: the restore waits for its snapshot (applied after it, or still being taken).
    const snapName = JSON.stringify(restore.spec.virtualMachineSnapshotName);
    const message =
      snap === undefined
        ? `waiting for VirtualMachineSnapshot ${snapName}: it does not exist yet`
        : `waiting for VirtualMachineSnapshot ${snapName} to be ready to use`;
    const reason = snap === undefined ? 'SnapshotDoesNotExist' : 'SnapshotNotReady';
    const progressing = restore.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === reason && progressing.message === message) return;
    await progress(reason, message);
    ctx.events.record(restore, snap === undefined ? 'Warning' : 'Normal', reason, message);
    return;
  }
  const source = content.spec.source.virtualMachine as unknown as VirtualMachine | undefined;
  if (source === undefined) return fail('SnapshotNotReady', 'the snapshot content holds no VirtualMachine');
  const layers = layersOf(content);
  const full = restore.metadata.annotations?.[FULL_RESTORE_ANNOTATION] === 'true';
  const targetName = restore.spec.target.name;
  // Target and guest from the server: a stale cache would restore onto a running guest.
  const target = await api.getLive<VirtualMachine>(virtualMachineKind, ns, targetName);

  if (
    target !== undefined &&
    target.metadata.labels?.['restore.hikube.io/created-by'] !== restore.metadata.uid
  ) {
    // Onto the existing VM: it must be stopped first.
    const vmi = await api.getLive<VirtualMachineInstance>(virtualMachineInstanceKind, ns, targetName);
    if (vmi !== undefined) {
      const policy = restore.spec.targetReadinessPolicy ?? DEFAULT_TARGET_READINESS_POLICY;
      const waited = Date.now() - Date.parse(restore.metadata.creationTimestamp ?? now);
      if (policy === 'FailImmediate' || (policy === 'WaitGracePeriod' && waited > TARGET_GRACE_PERIOD_MS))
        return fail(
          'TargetNotReady',
          `VirtualMachine ${JSON.stringify(targetName)} is running; stop it first`,
        );
      if (policy === 'StopTarget')
        await api.mutate<VirtualMachine>(virtualMachineKind, ns, targetName, (v) => {
          if (v.spec.runStrategy === 'Halted' && v.spec.running === undefined) return false;
          delete v.spec.running;
          v.spec.runStrategy = 'Halted';
        });
      await progress('WaitingForTarget', `waiting for VirtualMachine ${JSON.stringify(targetName)} to stop`);
      ctx.later(key, 1000);
      return;
    }
    await setStatus((st) => {
      st.conditions = setCondition(
        st.conditions,
        'Progressing',
        'True',
        'RestoreInProgress',
        'Restoring volumes',
        now,
      );
      st.conditions = setCondition(
        st.conditions,
        'Ready',
        'False',
        'RestoreInProgress',
        'Restoring volumes',
        now,
      );
    });
    await api.mutate<VirtualMachine>(
      virtualMachineKind,
      ns,
      targetName,
      (v) => {
        v.status = { ...v.status, restoreInProgress: name };
      },
      true,
    );
    const restores: Restored = [];
    const work: { path: string; layer: string }[] = [];
    for (const b of content.spec.volumeBackups ?? []) {
      const claim = String((b.persistentVolumeClaim.metadata as { name?: string } | undefined)?.name ?? '');
      const path = ctx.claimPath(ns, claim);
      const layer = layers[b.volumeSnapshotName ?? ''];
      if (path === undefined || layer === undefined)
        return fail(
          'VolumeNotFound',
          `claim ${JSON.stringify(claim)} of volume ${JSON.stringify(b.volumeName)} is not there to restore into`,
        );
      work.push({ path, layer });
      restores.push({
        volumeName: b.volumeName,
        persistentVolumeClaim: claim,
        volumeSnapshotName: b.volumeSnapshotName ?? '',
      });
    }
    await ctx.snapshotter.restore(work, full);
    await api.mutate<VirtualMachine>(virtualMachineKind, ns, targetName, (v) => {
      const runStrategy = v.spec.runStrategy;
      const running = v.spec.running;
      v.spec = structuredClone(source.spec);
      delete v.spec.running;
      delete v.spec.runStrategy;
      if (running !== undefined) v.spec.running = running;
      if (runStrategy !== undefined) v.spec.runStrategy = runStrategy;
    });
    await api.mutate<VirtualMachine>(
      virtualMachineKind,
      ns,
      targetName,
      (v) => {
        if (v.status?.restoreInProgress === undefined) return false;
        delete v.status.restoreInProgress;
      },
      true,
    );
    return complete(ctx, restore, restores, now);
  }

  // Onto a new VM: claims first, then the VM.
  const policy = restore.spec.volumeRestorePolicy ?? 'RandomizeNames';
  const restores: Restored = [];
  const claimOf: Record<string, string> = {};
  for (const b of content.spec.volumeBackups ?? []) {
    const meta = (b.persistentVolumeClaim.metadata ?? {}) as {
      name?: string;
      labels?: Record<string, string>;
    };
    const override = restore.spec.volumeRestoreOverrides?.find((o) => o.volumeName === b.volumeName);
    const claimName =
      override?.restoreName ??
      (policy === 'InPlace'
        ? (meta.name ?? '')
        : restoredClaimNameOf(restore.metadata.uid ?? '', b.volumeName));
    claimOf[meta.name ?? ''] = claimName;
    restores.push({
      volumeName: b.volumeName,
      persistentVolumeClaim: claimName,
      volumeSnapshotName: b.volumeSnapshotName ?? '',
    });
    const existing = await ctx.find<Claim>(persistentVolumeClaimKind, ns, claimName);
    const marker = `restore.hikube.io/restored-from`;
    if (existing === undefined) {
      const spec: Record<string, unknown> = structuredClone(b.persistentVolumeClaim.spec ?? {});
      delete spec['volumeName'];
      delete spec['dataSource'];
      delete spec['dataSourceRef'];
      await createOnce(
        api.create<Claim>(persistentVolumeClaimKind, {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: claimName,
            namespace: ns,
            labels: { ...(meta.labels ?? {}), ...(override?.labels ?? {}) },
            annotations: {
              ...(override?.annotations ?? {}),
              'restore.hikube.io/restore-uid': restore.metadata.uid ?? '',
            },
          },
          spec,
        }),
      );
      ctx.later(key, 300);
      return progress('CreatingVolumes', `creating claim ${claimName}`);
    }
    if (existing.metadata.annotations?.['restore.hikube.io/restore-uid'] !== restore.metadata.uid)
      return fail('VolumeExists', `claim ${JSON.stringify(claimName)} already exists`);
    if (existing.metadata.annotations?.[marker] === undefined) {
      const path = ctx.claimPath(ns, claimName);
      if (path === undefined) {
        ctx.later(key, 300);
        return progress('CreatingVolumes', `waiting for claim ${claimName} to be bound`);
      }
      const layer = layers[b.volumeSnapshotName ?? ''];
      if (layer === undefined)
        return fail('VolumeNotFound', `snapshot has no layer for volume ${b.volumeName}`);
      await ctx.snapshotter.restore([{ path, layer }], full);
      await api.mutate<Claim>(persistentVolumeClaimKind, ns, claimName, (c) => {
        c.metadata.annotations = { ...c.metadata.annotations, [marker]: b.volumeSnapshotName ?? '' };
      });
    }
  }
  let vm = target;
  if (vm === undefined) {
    const spec = structuredClone(source.spec);
    for (const v of spec.template.spec?.volumes ?? []) {
      if (v.persistentVolumeClaim !== undefined)
        v.persistentVolumeClaim.claimName =
          claimOf[v.persistentVolumeClaim.claimName] ?? v.persistentVolumeClaim.claimName;
      if (v.dataVolume !== undefined) {
        const claimName = claimOf[v.dataVolume.name] ?? v.dataVolume.name;
        delete v.dataVolume;
        v.persistentVolumeClaim = { claimName };
      }
    }
    delete spec.dataVolumeTemplates;
    let object: VirtualMachine = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: {
        name: targetName,
        namespace: ns,
        labels: {
          ...(source.metadata.labels ?? {}),
          'restore.hikube.io/created-by': restore.metadata.uid ?? '',
        },
        annotations: { ...(source.metadata.annotations ?? {}) },
      },
      spec,
    };
    try {
      for (const p of restore.spec.patches ?? [])
        object = applyJsonPatch(object, [JSON.parse(p)]) as VirtualMachine;
    } catch (err) {
      return fail(
        'PatchFailed',
        `applying spec.patches: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    object.metadata.name = targetName;
    object.metadata.namespace = ns;
    object.metadata.labels = {
      ...object.metadata.labels,
      'restore.hikube.io/created-by': restore.metadata.uid ?? '',
    };
    vm = await api.create<VirtualMachine>(virtualMachineKind, object);
  }
  if ((restore.spec.volumeOwnershipPolicy ?? 'VM') === 'VM')
    for (const r of restores)
      await api.mutate<Claim>(persistentVolumeClaimKind, ns, r.persistentVolumeClaim, (c) => {
        if ((c.metadata.ownerReferences ?? []).some((o) => o.uid === vm.metadata.uid)) return false;
        c.metadata.ownerReferences = [
          ...(c.metadata.ownerReferences ?? []),
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name: targetName,
            uid: vm.metadata.uid ?? '',
            blockOwnerDeletion: true,
          },
        ];
      });
  await complete(ctx, restore, restores, now);
}

/** A create that a cache behind the server may repeat: the object being there already is success. */
export async function createOnce(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

async function complete(
  ctx: SnapshotContext,
  restore: VirtualMachineRestore,
  restores: Restored,
  now: string,
): Promise<void> {
  await ctx.api.mutate<VirtualMachineRestore>(
    virtualMachineRestoreKind,
    restore.metadata.namespace ?? '',
    restore.metadata.name ?? '',
    (r) => {
      r.status ??= {};
      r.status.restores = restores;
      r.status.restoreTime = now;
      r.status.complete = true;
      r.status.deletedDataVolumes = [];
      r.status.conditions = setCondition(
        r.status.conditions,
        'Progressing',
        'False',
        'Succeeded',
        'Operation complete',
        now,
      );
      r.status.conditions = setCondition(
        r.status.conditions,
        'Ready',
        'True',
        'Succeeded',
        'Operation complete',
        now,
      );
    },
    true,
  );
  ctx.events.record(
    restore,
    'Normal',
    'VirtualMachineRestoreComplete',
    `Successfully completed VirtualMachineRestore ${restore.metadata.name ?? ''}`,
  );
}
