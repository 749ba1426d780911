/**
 * One BackupJob run: Pending → Running → Succeeded or Failed (the reason in status.message). The
 * node's executor freezes a consistent point of the application's disks (with the previous
 * backup's boundary, so only changed blocks are read), the repository writes chunks then the
 * manifest, and only then is the Backup made, Ready with its artifact: a run that fails leaves no
 * Backup. The previous backup's boundary layers are released once this one is Ready; a failed
 * run releases its own. Runs of one application go one at a time.
 */
import { BACKUP_FINALIZER, PLAN_LABEL, applicationGroup } from '../../api/backups/common.js';
import {
  backupJobKind,
  backupKind,
  type Backup,
  type BackupJob,
  type JobStatusValue,
} from '../../api/backups/jobs.js';
import { resolveApplication } from './application.js';
import {
  BackupError,
  messageOf,
  PlatformStopping,
  repositoryKey,
  resolveStrategy,
  setStatus,
  stamp,
  type BackupContext,
} from './context.js';
import type { BackupPoint } from './ports.js';

/** Cozystack's spec.driverMetadata keys we fill (for people and tools; never trusted back). */
export const META = { key: 'key', fullReasons: 'fullReasons', logicalSize: 'logicalSize' } as const;

/** Volume name → { claim, virtualSize, vmDisk } as recorded on a Backup. */
export type DiskRecord = Record<string, { claim: string; virtualSize: number; vmDisk?: string }>;

/** What the controller needs of a Backup it made, kept in status (only the controller writes it). */
export interface DriverRecord {
  key: string;
  boundary: Record<string, string>;
  disks: DiskRecord;
}

export const appKeyOf = (ns: string, ref: { apiGroup?: string; kind: string; name: string }): string =>
  `${ns}/${applicationGroup(ref)}/${ref.kind}/${ref.name}`;

/**
 * The driver record of a Backup, from status.underlyingResources.driver: a Backup's spec is
 * writable by whoever may create Backups (tenants), its status only by the controller, so a
 * hand-made Backup can never name another namespace's artifact or a node file to release.
 */
export function driverOf(b: Backup): DriverRecord | undefined {
  const d = (b.status?.underlyingResources as { driver?: Partial<DriverRecord> } | undefined)?.driver;
  const ns = b.metadata.namespace ?? '';
  if (d === undefined || typeof d.key !== 'string' || !d.key.startsWith(`${ns}/`)) return undefined;
  return { key: d.key, boundary: d.boundary ?? {}, disks: d.disks ?? {} };
}

/** The newest Ready Backup of the application on the same strategy: the base of an incremental. */
export function previousBackup(ctx: BackupContext, job: BackupJob, strategy: string): Backup | undefined {
  const ns = job.metadata.namespace ?? '';
  const app = appKeyOf(ns, job.spec.applicationRef);
  return ctx.api
    .list<Backup>(backupKind, ns)
    .filter(
      (b) =>
        b.metadata.deletionTimestamp === undefined &&
        b.status?.phase === 'Ready' &&
        appKeyOf(ns, b.spec.applicationRef) === app &&
        b.spec.strategyRef.name === strategy,
    )
    .sort((a, b) => Date.parse(b.spec.takenAt) - Date.parse(a.spec.takenAt))[0];
}

export const setJobStatus = (
  ctx: BackupContext,
  job: BackupJob,
  change: (s: JobStatusValue) => void,
): Promise<void> => setStatus(ctx, backupJobKind, job, change);

/** Runs the job to its end; never throws (the outcome is in the job's status). */
export async function runBackupJob(ctx: BackupContext, job: BackupJob, signal: AbortSignal): Promise<void> {
  const ns = job.metadata.namespace ?? '';
  const name = job.metadata.name ?? '';
  await setJobStatus(ctx, job, (s) => {
    s.phase = 'Running';
    s.startedAt = stamp(ctx.now());
    s.message = 'taking a consistent point of the disks';
  });
  let point: BackupPoint | undefined;
  let kept = false;
  try {
    const { strategyRef, repository } = await resolveStrategy(
      ctx,
      job.spec.backupClassName,
      job.spec.applicationRef,
    );
    const app = resolveApplication(ctx.api, ns, job.spec.applicationRef);
    const previous = previousBackup(ctx, job, strategyRef.name);
    const previousDriver = previous === undefined ? undefined : driverOf(previous);
    const previousBoundary = previousDriver?.boundary ?? {};
    const volumes = app.volumes.map((v) => {
      const path = ctx.claimPath(ns, v.claim);
      if (path === undefined)
        throw new BackupError(`disk ${v.name}: claim ${v.claim} is not bound and populated`);
      return { name: v.name, path };
    });
    point = await ctx.executor.takePoint({
      namespace: ns,
      vmName: app.vmName,
      volumes,
      freeze: app.agent,
      running: app.running,
      ...(previousDriver !== undefined ? { previous: previousBoundary } : {}),
    });
    const fullReasons = Object.fromEntries(
      point.disks.filter((d) => d.full).map((d) => [d.name, d.fullReason ?? 'full']),
    );
    await setJobStatus(ctx, job, (s) => {
      s.message = `sending ${Object.keys(fullReasons).length === point?.disks.length ? 'every' : 'the changed'} block(s)`;
    });
    const key = repositoryKey(ns, job.spec.applicationRef.name, name);
    const previousKey = previousDriver?.key;
    const result = await repository.write({
      key,
      ...(previousKey !== undefined ? { previous: previousKey } : {}),
      disks: point.disks,
      spec: app.saved,
      signal,
    });
    const disks: DiskRecord = {};
    for (const v of app.volumes) {
      const d = point.disks.find((x) => x.name === v.name);
      disks[v.name] = {
        claim: v.claim,
        virtualSize: d?.virtualSize ?? 0,
        ...(v.vmDisk ? { vmDisk: v.vmDisk } : {}),
      };
    }
    const backup: Backup = {
      apiVersion: `${backupKind.group}/${backupKind.version}`,
      kind: 'Backup',
      metadata: {
        name,
        namespace: ns,
        finalizers: [BACKUP_FINALIZER],
        ...(job.metadata.labels?.[PLAN_LABEL] !== undefined
          ? { labels: { [PLAN_LABEL]: job.metadata.labels[PLAN_LABEL] } }
          : {}),
      },
      spec: {
        applicationRef: job.spec.applicationRef,
        ...(job.spec.planRef !== undefined ? { planRef: job.spec.planRef } : {}),
        strategyRef,
        takenAt: stamp(ctx.now()),
        driverMetadata: {
          [META.key]: key,
          [META.fullReasons]: JSON.stringify(fullReasons),
          [META.logicalSize]: String(result.logicalSize),
        },
      },
    };
    // A copy: what create returns may be the stored object itself.
    const created = structuredClone(await ctx.api.create<Backup>(backupKind, backup));
    kept = true;
    created.status = {
      phase: 'Ready',
      artifact: { uri: result.uri, sizeBytes: result.size, checksum: result.checksum },
      underlyingResources: { ...app.saved, driver: { key, boundary: point.boundary, disks } },
    };
    await ctx.api.updateStatus(backupKind, created);
    if (previousDriver !== undefined)
      for (const [volume, layer] of Object.entries(previousBoundary))
        if (point.boundary[volume] !== layer) await releaseQuietly(ctx, layer);
    const full = Object.entries(fullReasons).map(([d, why]) => `${d} in full (${why})`);
    await setJobStatus(ctx, job, (s) => {
      s.phase = 'Succeeded';
      s.completedAt = stamp(ctx.now());
      s.backupRef = { name };
      s.message =
        `sent ${result.size} bytes for ${result.logicalSize} bytes of disk data ` +
        `(${result.chunksSent} chunks sent, ${result.chunksReused} reused)` +
        (full.length > 0 ? `; ${full.join(', ')}` : '');
    });
    ctx.events.record(job, 'Normal', 'BackupSucceeded', `Backup ${name} is Ready`);
  } catch (err) {
    const reason = signal.aborted ? 'cancelled: the BackupJob was deleted' : messageOf(err);
    if (point !== undefined && !kept)
      for (const layer of Object.values(point.boundary)) await releaseQuietly(ctx, layer);
    // The platform is stopping: the job stays Running and is resumed at the next start.
    if (signal.reason instanceof PlatformStopping) return;
    await setJobStatus(ctx, job, (s) => {
      s.phase = 'Failed';
      s.completedAt = stamp(ctx.now());
      s.message = `backup failed: ${reason}`;
    }).catch(() => undefined);
    ctx.events.record(job, 'Warning', 'BackupFailed', reason);
  } finally {
    await point
      ?.close()
      .catch((e: unknown) => ctx.log(`backup ${ns}/${name}: closing readers: ${messageOf(e)}`));
  }
}

export async function releaseQuietly(ctx: BackupContext, layer: string): Promise<void> {
  try {
    await ctx.executor.releaseBoundary(layer);
  } catch (err) {
    ctx.log(`failed releasing backup boundary ${layer}: ${messageOf(err)}`);
  }
}
