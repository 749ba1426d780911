/**
 * The platform's backups wiring. On every start it makes sure a default BackupClass exists whose
 * strategy stores backups in a local directory (DATA_DIR/backups), so `hikube backup create`
 * works with no bucket; an admin points the class at a bucket by editing or replacing the
 * `default` BackupStrategy. Existing objects are left as the admin made them.
 */
import { join } from 'node:path';
import { BACKUPS_GROUP, BACKUPS_VERSION, STRATEGY_GROUP, STRATEGY_VERSION } from '../api/backups/common.js';
import { backupClassKind } from '../api/backups/plan.js';
import { backupStrategyKind } from '../api/backups/strategy.js';
import type { KindDefinition } from '../api/kind.js';
import type { Registry } from '../apiserver/registry.js';
import { ApiError } from '../apiserver/errors.js';

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
