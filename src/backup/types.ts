/**
 * The types shared by the three layers of backups (issue 17): the node produces DiskSources and
 * DiskSinks, the backup repository (src/backup) consumes them, the controllers pass them along.
 * Kept in one small file so every branch can carry the identical text.
 */

/** A byte range of a disk image. zero = reads as zeros (not stored). */
export interface Extent {
  offset: number;
  length: number;
  zero: boolean;
}
/** Reads a disk image at a fixed point in time (a frozen layer), whole-image addressing. */
export interface BlockReader {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}
/**
 * A BlockReader that can also fill a buffer it is given (returning the bytes read): the repository
 * then reads every chunk into memory a worker has finished with, instead of fresh memory per chunk,
 * whose page faults cost here about what hashing the chunk does.
 */
export interface FillingBlockReader extends BlockReader {
  readInto(offset: number, into: Buffer): Promise<number>;
}
/** One disk of a backup point. */
export interface DiskSource {
  /** The volume name in the VM spec. */
  name: string;
  virtualSize: number;
  /** Full: every allocated extent. Incremental: only what changed since the previous point. */
  changed: Extent[];
  full: boolean;
  /** Why this disk is read in full: "first backup", "chain broken: the disk was restored from a snapshot", … */
  fullReason?: string;
  reader: BlockReader;
}
/** Writes a restored disk. Regions not written read as zeros. */
export interface DiskSink {
  write(offset: number, data: Buffer): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}
