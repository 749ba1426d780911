/**
 * One RestoreJob run. In place: the application must be stopped, or the job carries
 * `backups.hikube.io/stop-running-vm: "true"` and the VM is stopped first (refused otherwise, with
 * the reason); each disk is rewritten whole through the executor's restore sink from the verified
 * chunks, the saved spec is put back, and the VM is started again if it ran. Into a new
 * application (targetApplicationRef, which must not exist): blank disks are made and filled, then
 * the application is created from the saved spec with its disks renamed `<target>-<disk>`.
 * Progress is in status.message.
 */
import { STOP_VM_ANNOTATION } from '../../api/backups/common.js';
import { backupKind, restoreJobKind, type Backup, type RestoreJob } from '../../api/backups/jobs.js';
import { dataVolumeKind } from '../../api/cdi/datavolume.js';
import { diskObjectName, vmDiskKind } from '../../api/cozystack/vmdisk.js';
import { instanceObjectName, vmInstanceKind, type VMInstance } from '../../api/cozystack/vminstance.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import type { KubeObject } from '../../api/meta.js';
import { formatOfVolume } from '../../storage/pool.js';
import { isInstance, type SavedApplication } from './application.js';
import {
  BackupError,
  messageOf,
  openStrategy,
  PlatformStopping,
  setStatus,
  stamp,
  type BackupContext,
} from './context.js';
import { driverOf, type DiskRecord } from './job.js';
import type { ArtifactRepository } from './ports.js';

const WAIT_MS = 10 * 60_000;
const POLL_MS = 500;

const setRestoreStatus = (
  ctx: BackupContext,
  job: RestoreJob,
  change: (s: NonNullable<RestoreJob['status']>) => void,
): Promise<void> => setStatus(ctx, restoreJobKind, job, change);

async function until(
  ctx: BackupContext,
  what: string,
  ok: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const deadline = ctx.now().getTime() + WAIT_MS;
  while (!ok()) {
    if (signal.aborted) throw new BackupError('cancelled: the RestoreJob was deleted');
    if (ctx.now().getTime() > deadline) throw new BackupError(`timed out waiting for ${what}`);
    await ctx.sleep(POLL_MS);
  }
}

/** Runs the restore to its end; never throws (the outcome is in the job's status). */
export async function runRestoreJob(
  ctx: BackupContext,
  job: RestoreJob,
  backup: Backup,
  signal: AbortSignal,
): Promise<void> {
  const ns = job.metadata.namespace ?? '';
  await setRestoreStatus(ctx, job, (s) => {
    s.phase = 'Running';
    s.startedAt = stamp(ctx.now());
    s.message = 'starting';
  });
  try {
    const driver = driverOf(backup);
    const key = driver?.key;
    const saved = backup.status?.underlyingResources as SavedApplication | undefined;
    if (key === undefined || saved?.application === undefined)
      throw new BackupError(`Backup ${backup.metadata.name ?? ''} records no artifact key or application`);
    const repository = (await openStrategy(ctx, backup.spec.strategyRef)).repository;
    const disks: DiskRecord = driver?.disks ?? {};
    const source = backup.spec.applicationRef;
    const target = job.spec.targetApplicationRef ?? source;
    const inPlace =
      target.kind === source.kind && target.name === source.name && isInstance(target) === isInstance(source);
    const progress = (m: string): Promise<void> =>
      setRestoreStatus(ctx, job, (s) => void (s.message = m)).catch(() => undefined);
    const fill = async (claims: Record<string, string>): Promise<void> => {
      const names = Object.keys(disks);
      for (const [i, volume] of names.entries()) {
        const claim = claims[volume];
        const path = claim === undefined ? undefined : ctx.claimPath(ns, claim);
        if (path === undefined) throw new BackupError(`disk ${volume}: claim ${claim ?? '?'} is not ready`);
        await restoreDisk(
          ctx,
          repository,
          key,
          volume,
          path,
          disks[volume]?.virtualSize ?? 0,
          signal,
          (pct) => progress(`restoring disk ${volume} (${i + 1} of ${names.length}): ${pct}%`),
        );
      }
    };
    if (inPlace) await restoreInPlace(ctx, job, saved, disks, fill, signal, progress);
    else await restoreAsNew(ctx, ns, target.name, saved, disks, fill, signal, progress);
    await setRestoreStatus(ctx, job, (s) => {
      s.phase = 'Succeeded';
      s.completedAt = stamp(ctx.now());
      s.message = `restored ${Object.keys(disks).length} disk(s) from Backup ${backup.metadata.name ?? ''} into ${target.kind} ${target.name}`;
    });
    ctx.events.record(job, 'Normal', 'RestoreSucceeded', `restored into ${target.kind} ${target.name}`);
  } catch (err) {
    // The platform is stopping: the job stays Running and fails as interrupted at the next start.
    if (signal.reason instanceof PlatformStopping) return;
    const reason = messageOf(err);
    await setRestoreStatus(ctx, job, (s) => {
      s.phase = 'Failed';
      s.completedAt = stamp(ctx.now());
      s.message = `restore failed: ${reason}`;
    }).catch(() => undefined);
    ctx.events.record(job, 'Warning', 'RestoreFailed', reason);
  }
}

async function restoreDisk(
  ctx: BackupContext,
  repository: ArtifactRepository,
  key: string,
  volume: string,
  path: string,
  virtualSize: number,
  signal: AbortSignal,
  progress: (pct: number) => Promise<void>,
): Promise<void> {
  const sink = await ctx.executor.openRestoreSink({ path, format: formatOfVolume(path), virtualSize });
  let last = -1;
  let lastAt = 0;
  // The repository finishes the sink, or aborts it on failure.
  await repository.restoreDisk(key, volume, sink, {
    signal,
    onProgress: (done, total) => {
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      const at = ctx.now().getTime();
      if (pct !== last && at - lastAt >= 1000) {
        last = pct;
        lastAt = at;
        void progress(pct);
      }
    },
  });
}

type Fill = (claims: Record<string, string>) => Promise<void>;
type Progress = (m: string) => Promise<void>;

async function restoreInPlace(
  ctx: BackupContext,
  job: RestoreJob,
  saved: SavedApplication,
  disks: DiskRecord,
  fill: Fill,
  signal: AbortSignal,
  progress: Progress,
): Promise<void> {
  const ns = job.metadata.namespace ?? '';
  const app = saved.application;
  const name = app.metadata.name ?? '';
  const instance = app.kind === 'VMInstance';
  const def = instance ? vmInstanceKind : virtualMachineKind;
  const vmName = instance ? instanceObjectName(name) : name;
  const current = ctx.api.get<KubeObject & { spec?: { runStrategy?: string } }>(def, ns, name);
  if (current === undefined)
    throw new BackupError(
      `${app.kind} ${name} does not exist: restore into a new application (targetApplicationRef)`,
    );
  const running = ctx.api.get(virtualMachineInstanceKind, ns, vmName) !== undefined;
  const runStrategy = current.spec?.runStrategy ?? 'Always';
  if (running) {
    if (job.metadata.annotations?.[STOP_VM_ANNOTATION] !== 'true')
      throw new BackupError(
        `${app.kind} ${name} is running: stop it first, or set the annotation ${STOP_VM_ANNOTATION}: "true" to let the restore stop it`,
      );
    await progress(`stopping ${app.kind} ${name}`);
    await setRunStrategy(ctx, def, ns, name, 'Halted');
    await until(
      ctx,
      `VM ${vmName} to stop`,
      () => ctx.api.get(virtualMachineInstanceKind, ns, vmName) === undefined,
      signal,
    );
  }
  await fill(Object.fromEntries(Object.entries(disks).map(([v, d]) => [v, d.claim])));
  await progress(`putting the spec of ${app.kind} ${name} back`);
  await ctx.api.mutate<KubeObject & { spec?: Record<string, unknown> }>(def, ns, name, (o) => {
    o.spec = structuredClone((app as { spec?: Record<string, unknown> }).spec ?? {});
    // As it was before the restore: started again if it ran, left stopped if it was.
    o.spec['runStrategy'] = running ? runStrategy : (current.spec?.runStrategy ?? 'Halted');
    delete o.spec['running'];
  });
}

async function setRunStrategy(
  ctx: BackupContext,
  def: typeof vmInstanceKind,
  ns: string,
  name: string,
  strategy: string,
): Promise<void> {
  await ctx.api.mutate<KubeObject & { spec?: Record<string, unknown> }>(def, ns, name, (o) => {
    o.spec = { ...(o.spec ?? {}), runStrategy: strategy };
    delete o.spec['running'];
  });
}

async function restoreAsNew(
  ctx: BackupContext,
  ns: string,
  target: string,
  saved: SavedApplication,
  disks: DiskRecord,
  fill: Fill,
  signal: AbortSignal,
  progress: Progress,
): Promise<void> {
  const app = saved.application;
  const instance = app.kind === 'VMInstance';
  const def = instance ? vmInstanceKind : virtualMachineKind;
  if ((await ctx.api.getLive(def, ns, target)) !== undefined)
    throw new BackupError(
      `${app.kind} ${target} already exists: name a new application, or restore in place`,
    );
  const claims: Record<string, string> = {};
  const renamed: Record<string, string> = {};
  for (const [volume, d] of Object.entries(disks)) {
    const newName = `${target}-${d.vmDisk ?? volume}`;
    if (instance && d.vmDisk !== undefined) {
      const old = saved.disks.find((x) => x.metadata.name === d.vmDisk) as
        (KubeObject & { spec?: Record<string, unknown> }) | undefined;
      const { source: _source, ...spec } = old?.spec ?? {};
      await ctx.api.create(vmDiskKind, {
        apiVersion: `${vmDiskKind.group}/${vmDiskKind.version}`,
        kind: 'VMDisk',
        metadata: {
          name: newName,
          namespace: ns,
          ...(old?.metadata.annotations ? { annotations: old.metadata.annotations } : {}),
        },
        spec: { storage: String(d.virtualSize), ...spec },
      });
      claims[volume] = diskObjectName(newName);
      renamed[d.vmDisk] = newName;
    } else {
      await ctx.api.create(dataVolumeKind, {
        apiVersion: `${dataVolumeKind.group}/${dataVolumeKind.version}`,
        kind: 'DataVolume',
        metadata: { name: newName, namespace: ns },
        spec: {
          source: { blank: {} },
          storage: { resources: { requests: { storage: String(d.virtualSize) } } },
        },
      });
      claims[volume] = newName;
      renamed[volume] = newName;
    }
  }
  await progress(`waiting for ${Object.keys(claims).length} new disk(s)`);
  await until(
    ctx,
    'the new disks to be provisioned',
    () => Object.values(claims).every((c) => ctx.claimPath(ns, c) !== undefined),
    signal,
  );
  await fill(claims);
  await progress(`creating ${app.kind} ${target}`);
  const spec = structuredClone((app as { spec?: Record<string, unknown> }).spec ?? {});
  if (instance) {
    const s = spec as NonNullable<VMInstance['spec']>;
    s.disks = (s.disks ?? []).map((d) => ({ ...d, name: renamed[d.name] ?? d.name }));
  } else {
    const s = spec as unknown as VirtualMachine['spec'];
    delete (s as { dataVolumeTemplates?: unknown }).dataVolumeTemplates;
    for (const v of s.template.spec?.volumes ?? []) {
      const to = renamed[v.name];
      if (to === undefined) continue;
      delete v.persistentVolumeClaim;
      v.dataVolume = { name: to };
    }
  }
  await ctx.api.create(def, {
    apiVersion: app.apiVersion,
    kind: app.kind,
    metadata: {
      name: target,
      namespace: ns,
      ...(app.metadata.labels ? { labels: app.metadata.labels } : {}),
    },
    spec,
  });
}

export const backupOf = (ctx: BackupContext, job: RestoreJob): Backup | undefined =>
  ctx.api.get<Backup>(backupKind, job.metadata.namespace ?? '', job.spec.backupRef.name);
