/**
 * The platform's backups wiring. On every start it makes sure a default BackupClass exists whose
 * strategy stores backups in a local directory (DATA_DIR/backups), so `hikube backup create`
 * works with no bucket; an admin points the class at a bucket by editing or replacing the
 * `default` BackupStrategy. Existing objects are left as the admin made them. It also builds the
 * backup controller on the real parts: the node's executor (snapshot layers as points, qemu-nbd
 * readers, restore sinks) and src/backup's repository on an S3 or local-directory target, one per
 * strategy (shared, so the repository's per-application ordering holds across jobs).
 */
import { join } from 'node:path';
import { BACKUPS_GROUP, BACKUPS_VERSION, STRATEGY_GROUP, STRATEGY_VERSION } from '../api/backups/common.js';
import { backupClassKind } from '../api/backups/plan.js';
import { backupStrategyKind } from '../api/backups/strategy.js';
import type { KindDefinition } from '../api/kind.js';
import type { Registry } from '../apiserver/registry.js';
import { ApiError } from '../apiserver/errors.js';
import type { BackupStrategySpec } from '../api/backups/strategy.js';
import { BackupRepository, localTarget, s3Target } from '../backup/index.js';
import { BackupController } from '../controllers/backup/controller.js';
import { parseBackupDirs } from '../controllers/backup/local-path.js';
import type { Repositories, S3Credentials } from '../controllers/backup/ports.js';
import type { LookupAll, OutboundPolicy } from '../network/outbound.js';
import type { RunningGuest } from '../node/agent.js';
import { NodeBackupExecutor } from '../node/backups.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import type { QemuImgRunner } from '../storage/layers.js';

export const DEFAULT_BACKUP_CLASS = 'default';

export function defaultBackupObjects(
  dataDir: string,
): { def: KindDefinition; body: Record<string, unknown> }[] {
  const strategyRef = { apiGroup: STRATEGY_GROUP, kind: 'BackupStrategy', name: DEFAULT_BACKUP_CLASS };
  return [
    {
      def: backupStrategyKind,
      body: {
        apiVersion: `${STRATEGY_GROUP}/${STRATEGY_VERSION}`,
        kind: 'BackupStrategy',
        metadata: { name: DEFAULT_BACKUP_CLASS },
        spec: { target: 'local', path: join(dataDir, 'backups') },
      },
    },
    {
      def: backupClassKind,
      body: {
        apiVersion: `${BACKUPS_GROUP}/${BACKUPS_VERSION}`,
        kind: 'BackupClass',
        metadata: { name: DEFAULT_BACKUP_CLASS },
        spec: {
          strategies: [
            { strategyRef, application: { apiGroup: 'apps.cozystack.io', kind: 'VMInstance' } },
            { strategyRef, application: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' } },
          ],
        },
      },
    },
  ];
}

/** Creates the default class and its local strategy where absent. */
export function ensureDefaultBackupClass(registry: Registry, dataDir: string): void {
  for (const { def, body } of defaultBackupObjects(dataDir)) {
    try {
      registry.create(def, '', body);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
  }
}

/** The admin's extra directories for local strategies: $HIKUBE_BACKUP_DIRS (DIR,…), else none. */
export function backupDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return parseBackupDirs(env['HIKUBE_BACKUP_DIRS'] ?? '');
}

/**
 * One repository per target (spec and credentials): reused while they stay the same. An S3
 * target's connections obey `targets` (names resolved by `lookupAll`, the system's by default).
 */
export function repositoriesOf(targets: OutboundPolicy, lookupAll?: LookupAll): Repositories {
  const open = new Map<string, BackupRepository>();
  return (spec: BackupStrategySpec, credentials: S3Credentials | undefined) => {
    const id = JSON.stringify([spec, credentials?.accessKeyId ?? '', credentials?.secretAccessKey ?? '']);
    let repo = open.get(id);
    if (repo === undefined) {
      repo = new BackupRepository(
        spec.target === 'local'
          ? localTarget(spec.prefix ? join(spec.path ?? '', spec.prefix) : (spec.path ?? ''))
          : s3Target({
              endpoint: spec.endpoint ?? '',
              region: spec.region ?? 'us-east-1',
              bucket: spec.bucket ?? '',
              ...(spec.prefix !== undefined ? { prefix: spec.prefix } : {}),
              ...(spec.forcePathStyle !== undefined ? { forcePathStyle: spec.forcePathStyle } : {}),
              ...(spec.caBundle !== undefined ? { caBundle: spec.caBundle } : {}),
              accessKeyId: credentials?.accessKeyId ?? '',
              secretAccessKey: credentials?.secretAccessKey ?? '',
              targets,
              ...(lookupAll !== undefined ? { lookupAll } : {}),
            }),
      );
      open.set(id, repo);
    }
    return repo;
  };
}

export function backupControllerFor(o: {
  manager: Manager;
  events: EventRecorder;
  guests: () => RunningGuest[];
  qemuImg: QemuImgRunner;
  claimPath: (namespace: string, claim: string) => string | undefined;
  /** Where S3 endpoints may be: the outbound policy of imports (--allow-private-targets). */
  targets: OutboundPolicy;
  /** Directories a local strategy may use: DATA_DIR/backups and the admin's --backup-dirs. */
  localDirs: readonly string[];
  log: (message: string) => void;
}): BackupController {
  return new BackupController({
    manager: o.manager,
    events: o.events,
    executor: new NodeBackupExecutor(o.guests, o.qemuImg, o.log),
    repositories: repositoriesOf(o.targets),
    claimPath: o.claimPath,
    targets: o.targets,
    localDirs: o.localDirs,
    log: o.log,
  });
}
