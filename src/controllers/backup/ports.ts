/**
 * What the backup controllers ask of the world, declared where used: the node's executor (a
 * consistent point of a VM's disks and a sink that writes a restored volume; src/node/backups.ts
 * is the real one) and a repository of artifacts on a target (src/backup's BackupRepository),
 * opened per strategy by `Repositories` with the credentials read from the strategy's Secret.
 * The shapes are those of the shared design (docs: issue 17), kept structural so the real classes
 * fit without this folder importing the node or storage code.
 */
import type { DiskSink, DiskSource } from '../../backup/types.js';
import type { BackupStrategySpec } from '../../api/backups/strategy.js';

export interface PointVolume {
  /** The VM volume name. */
  name: string;
  /** The pool file of its claim. */
  path: string;
}

export interface BackupPointRequest {
  namespace: string;
  vmName: string;
  volumes: PointVolume[];
  freeze: boolean;
  running: boolean;
  /** Volume name → the boundary layer the previous backup of this application kept. */
  previous?: Record<string, string>;
}

export interface BackupPoint {
  /** Volume name → this point's boundary layer (kept until the next backup succeeds). */
  boundary: Record<string, string>;
  disks: DiskSource[];
  indications: string[];
  close(): Promise<void>;
}

export interface BackupExecutor {
  takePoint(req: BackupPointRequest): Promise<BackupPoint>;
  releaseBoundary(layer: string): Promise<void>;
  openRestoreSink(t: { path: string; format: 'qcow2' | 'raw'; virtualSize: number }): Promise<DiskSink>;
}

export interface WriteResult {
  uri: string;
  size: number;
  logicalSize: number;
  checksum: string;
  chunksSent: number;
  chunksReused: number;
}

/** The part of src/backup's BackupRepository the controllers use. */
export interface ArtifactRepository {
  write(req: {
    key: string;
    previous?: string;
    disks: DiskSource[];
    spec: unknown;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  }): Promise<WriteResult>;
  /** Finishes the sink when every chunk is written and verified; aborts it on failure. */
  restoreDisk(
    key: string,
    disk: string,
    sink: DiskSink,
    o?: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Opens the repository of a strategy (credentials given for target s3). */
export type Repositories = (
  spec: BackupStrategySpec,
  credentials: S3Credentials | undefined,
) => ArtifactRepository;
