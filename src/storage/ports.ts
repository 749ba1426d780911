/**
 * The storage pool's side-effect boundary: disk image files (qemu-img). Declared here, where the
 * provisioner and the importers use it; the real adapter is qemu-img.ts. The guest-side port
 * (resizing a disk a running guest has open) is passed in as a function by the platform.
 */
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
  /** Reads the header of an image; rejects when qemu-img cannot make sense of it. */
  info(path: string, format?: string): Promise<ImageInfo>;
  /**
   * Checks the metadata of an image (qcow2, VDI, VHDX): the errors found, empty when it is sound
   * or the format has no checker. Leaked clusters are not errors.
   */
  check(path: string, format: string): Promise<string[]>;
  /** A blank thin image. */
  create(path: string, bytes: number, format: PoolFormat): Promise<void>;
  /** Converts `src` to a new file `dst`, reporting progress in [0, 1]. */
  convert(
    src: string,
    srcFormat: string,
    dst: string,
    dstFormat: PoolFormat,
    options?: { onProgress?: (fraction: number) => void; signal?: AbortSignal },
  ): Promise<void>;
  /** Grows an image that no running guest has open. */
  resize(path: string, format: PoolFormat, bytes: number): Promise<void>;
}

/** Grows the disk a running guest has open on `path`; false when no running guest has it open. */
export type OnlineResize = (path: string, bytes: number) => Promise<boolean>;
