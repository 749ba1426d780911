/**
 * The first leg of an import: the bytes as served (or uploaded) go into a file of the pool, counted
 * for progress and hashed for the checksum on the way, as CDI checks it (on the raw stream, before
 * decompression). A body shorter than its Content-Length is a dropped connection, not an image.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Checksum } from '../../api/cdi/checksum.js';
import { ImportError, asImportError } from './errors.js';
import { SparseFileWriter } from './sparse.js';

export interface ReceiveOptions {
  total: number | undefined;
  checksum?: Checksum;
  /** Bytes received so far (and the total, when known). */
  onBytes?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

export async function receive(stream: Readable, dest: string, options: ReceiveOptions): Promise<number> {
  let received = 0;
  const hash: Hash | undefined =
    options.checksum === undefined ? undefined : createHash(options.checksum.algorithm);
  const meter = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      hash?.update(chunk);
      options.onBytes?.(received, options.total);
      done(null, chunk);
    },
  });
  try {
    await pipeline(stream, meter, new SparseFileWriter(dest), {
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  } catch (err) {
    throw asImportError(err, `receiving the image (${received} bytes in)`);
  }
  if (options.total !== undefined && received < options.total)
    throw new ImportError(
      'Error',
      `the connection closed after ${received} of ${options.total} bytes`,
      false,
    );
  if (hash !== undefined && options.checksum !== undefined) {
    const calculated = hash.digest('hex');
    if (calculated !== options.checksum.hex)
      throw new ImportError(
        'ChecksumError',
        `checksum mismatch: expected ${options.checksum.algorithm}:${options.checksum.hex}, calculated ${options.checksum.algorithm}:${calculated}`,
        true,
      );
  }
  return received;
}
