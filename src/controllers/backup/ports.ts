/**
 * What the backup controllers ask of the world: the node's executor (a consistent point of a VM's
 * disks and a sink that writes a restored volume; src/node/backups.ts declares and implements it)
 * and a repository of artifacts on a target (the part of src/backup's BackupRepository used here),
 * opened per strategy by `Repositories` with the credentials read from the strategy's Secret.
 * The types are imported, not restated, so a change to the node or repository side shows here.
 */
import type { BackupStrategySpec } from '../../api/backups/strategy.js';
import type { BackupRepository } from '../../backup/repository.js';

export type { BackupExecutor, BackupPoint, BackupPointRequest } from '../../node/backups.js';
export type { WriteResult } from '../../backup/repository.js';

/** The part of src/backup's BackupRepository the controllers use (fakes in tests fit it too). */
export type ArtifactRepository = Pick<BackupRepository, 'write' | 'restoreDisk' | 'delete'>;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Opens the repository of a strategy (credentials given for target s3). */
export type Repositories = (
  spec: BackupStrategySpec,
  credentials: S3Credentials | undefined,
) => ArtifactRepository;
