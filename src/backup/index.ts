/** The backup library's public surface (see README.md): targets, the repository, the shared types. */
export {
  BackupRepository,
  BackupNotFoundError,
  type WriteRequest,
  type WriteResult,
  type Progress,
} from './repository.js';
export { CorruptChunkError, DEFAULT_CHUNK_SIZE } from './chunks.js';
export { LegacyManifestError, ManifestError, type Manifest, type ManifestDisk } from './manifest.js';
export { DEFAULT_PACK_SIZE } from './packs.js';
export { localTarget } from './local-target.js';
export { s3Target, type S3TargetOptions } from './s3-target.js';
export { InvalidKeyError, ObjectNotFoundError, checkKey, type Target } from './target.js';
export type { BlockReader, DiskSink, DiskSource, Extent, FillingBlockReader } from './types.js';
