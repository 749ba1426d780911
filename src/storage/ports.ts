/**
 * The storage pool's side-effect boundary: disk image files (qemu-img). Declared here, where the
 * provisioner and the importers use it; the real adapter is qemu-img.ts. The guest-side port
 * (resizing a disk a running guest has open) is passed in as a function by the platform.
 */
import type { DiskFormat } from './inspect.js';

export type PoolFormat = 'qcow2' | 'raw';

export interface ImageInfo {
  /** qemu-img's name: qcow2, raw, vmdk, vpc (VHD), vhdx, vdi, luks… */
  format: string;
  virtualSize: number;
  /** Bytes the file takes on disk. */
  actualSize: number;
  /** Set when the image refers to another file (refused on import). */
  backingFile?: string;
  /** A qcow2 external data file (refused on import). */
  dataFile?: string;
  encrypted: boolean;
}

export interface ImageTool {
  /**
   * Reads the header of an image opened as `format` (never probed), following no backing file;
   * rejects when qemu-img cannot make sense of it.
   */
  info(path: string, format: DiskFormat): Promise<ImageInfo>;
  /**
   * Checks the metadata of an image (qcow2, VDI, VHDX): the errors found, empty when it is sound
   * or the format has no checker. Leaked clusters are not errors.
   */
  check(path: string, format: DiskFormat): Promise<string[]>;
  /** A blank thin image. */
  create(path: string, bytes: number, format: PoolFormat): Promise<void>;
  /**
   * Converts `src`, opened as `srcFormat`, to a new file `dst`, reporting progress in [0, 1]. No
   * backing file of `src` is followed unless `poolVolume` says it is a volume of the pool, whose
   * snapshot layers the platform made itself.
   */
  convert(
    src: string,
    srcFormat: DiskFormat,
    dst: string,
    dstFormat: PoolFormat,
    options?: { onProgress?: (fraction: number) => void; signal?: AbortSignal; poolVolume?: boolean },
  ): Promise<void>;
  /** Grows an image that no running guest has open. */
  resize(path: string, format: PoolFormat, bytes: number): Promise<void>;
}

/** Grows the disk a running guest has open on `path`; false when no running guest has it open. */
export type OnlineResize = (path: string, bytes: number) => Promise<boolean>;
