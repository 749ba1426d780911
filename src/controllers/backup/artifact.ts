/**
 * A deleted Backup takes its artifact with it: while the finalizer is on, the manifest is deleted
 * from the target through the repository (which then collects the chunks no other backup of the
 * application names) and the backup's boundary layers are released; only then does the object go.
 * A target that cannot be reached keeps the Backup, with the reason in its Ready condition, and
 * the deletion is retried with backoff. A strategy the platform will no longer use (deleted, its
 * credentials Secret gone, or a target the admin's rules now refuse: see StrategyUnusable) does
 * not hold the Backup: the object goes, the artifact stays where it is, and a Warning event on the
 * Backup names the artifact and the reason, so an accepted object always stays deletable.
 */
import { BACKUP_FINALIZER } from '../../api/backups/common.js';
import { backupKind, type Backup } from '../../api/backups/jobs.js';
import {
  BackupError,
  messageOf,
  openStrategy,
  setCondition,
  StrategyUnusable,
  type BackupContext,
} from './context.js';
import { appKeyOf, driverOf, releaseQuietly } from './job.js';

export async function finalizeBackup(ctx: BackupContext, backup: Backup): Promise<void> {
  if (!(backup.metadata.finalizers ?? []).includes(BACKUP_FINALIZER)) return;
  const ns = backup.metadata.namespace ?? '';
  const name = backup.metadata.name ?? '';
  // Only what the controller recorded in status is acted on (see driverOf).
  const driver = driverOf(backup);
  const key = driver?.key;
  try {
    if (key !== undefined) await (await openStrategy(ctx, backup.spec.strategyRef)).repository.delete(key);
  } catch (err) {
    if (err instanceof StrategyUnusable) {
      ctx.events.record(
        backup,
        'Warning',
        'ArtifactKept',
        `the artifact ${key ?? ''} was left in its target: ${err.message}`,
      );
      return dropFinalizer(ctx, backup, driver);
    }
    const reason = `failed deleting the artifact ${key ?? ''}: ${messageOf(err)}`;
    await ctx.api
      .mutate<Backup>(
        backupKind,
        ns,
        name,
        (b) => {
          const conditions = setCondition(b.status?.conditions, ctx.now(), {
            type: 'Ready',
            status: 'False',
            reason: 'DeletionFailed',
            message: reason,
          });
          if (JSON.stringify(conditions) === JSON.stringify(b.status?.conditions)) return false;
          b.status = { ...(b.status ?? {}), conditions };
          return true;
        },
        true,
      )
      .catch(() => undefined);
    throw new BackupError(reason);
  }
  await dropFinalizer(ctx, backup, driver);
}

/** Releases the boundary layers this Backup still holds, then lets the object go. */
async function dropFinalizer(
  ctx: BackupContext,
  backup: Backup,
  driver: ReturnType<typeof driverOf>,
): Promise<void> {
  const ns = backup.metadata.namespace ?? '';
  const name = backup.metadata.name ?? '';
  // A newer Ready backup released this one's boundary when it succeeded; the newest still holds its own.
  const app = appKeyOf(ns, backup.spec.applicationRef);
  const newer = ctx.api
    .list<Backup>(backupKind, ns)
    .some(
      (b) =>
        b.status?.phase === 'Ready' &&
        appKeyOf(ns, b.spec.applicationRef) === app &&
        b.spec.strategyRef.name === backup.spec.strategyRef.name &&
        Date.parse(b.spec.takenAt) > Date.parse(backup.spec.takenAt),
    );
  if (!newer) for (const layer of Object.values(driver?.boundary ?? {})) await releaseQuietly(ctx, layer);
  await ctx.api.mutate<Backup>(backupKind, ns, name, (b) => {
    const finalizers = (b.metadata.finalizers ?? []).filter((f) => f !== BACKUP_FINALIZER);
    if (finalizers.length === (b.metadata.finalizers ?? []).length) return false;
    b.metadata.finalizers = finalizers;
    return true;
  });
}
