/**
 * A file writer that leaves holes where the data is zeros. Disk images are mostly empty: writing
 * their zeros costs the pool as much I/O as their data, and qemu-img converts a sparse file's
 * holes without reading them. Data is gathered into 1 MiB buffers and written in runs of non-zero
 * 64 KiB blocks at their offsets; the file is then truncated to the full length.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

const BLOCK = 65536;
const BUFFER = 16 * BLOCK;
const ZERO = Buffer.alloc(BLOCK);

export class SparseFileWriter extends Writable {
  private fh: FileHandle | undefined;
  private readonly buffer = Buffer.allocUnsafe(BUFFER);
  private filled = 0;
  /** File offset of buffer[0]. */
  private offset = 0;
  /** Bytes written as data (the rest are holes). */
  dataBytes = 0;

  constructor(private readonly path: string) {
    super({ highWaterMark: 4 * BUFFER });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'w').then(
      (fh) => {
        this.fh = fh;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  private async take(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, BUFFER - this.filled);
      chunk.copy(this.buffer, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === BUFFER) await this.flush();
    }
  }

  /** Writes the non-zero runs of the buffer at their offsets. */
  private async flush(): Promise<void> {
    const fh = this.fh;
    if (fh === undefined) throw new Error('the file is not open');
    let runStart = -1;
    for (let block = 0; ; block += BLOCK) {
      const done = block >= this.filled;
      const end = Math.min(block + BLOCK, this.filled);
      const zero = done || this.buffer.subarray(block, end).equals(ZERO.subarray(0, end - block));
      if (!zero && runStart < 0) runStart = block;
      if (zero && runStart >= 0) {
        const length = Math.min(block, this.filled) - runStart;
        await fh.write(this.buffer, runStart, length, this.offset + runStart);
        this.dataBytes += length;
        runStart = -1;
      }
      if (done) break;
    }
    this.offset += this.filled;
    this.filled = 0;
  }

  override _final(callback: (error?: Error | null) => void): void {
    (async () => {
      await this.flush();
      await this.fh?.truncate(this.offset);
    })().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = undefined;
    if (fh === undefined) return callback(error);
    fh.close().then(
      () => callback(error),
      () => callback(error),
    );
  }
}
