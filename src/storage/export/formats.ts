/**
 * Turns one exported disk into the bytes of a download format, streamed, never buffered whole.
 * A pool disk is qcow2 (often over a chain of snapshot layers): `qemu-img convert` flattens it into
 * a sparse temporary file (raw, or a standalone qcow2), which is then streamed as is (raw, qcow2),
 * gzipped (gzip), or inside a gzipped tarball holding `disk.img` (tar.gz, KubeVirt's layout). The
 * source format is the pool's (from the file name), always passed with `-f`, never probed.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ExportFormat } from '../../api/export/export.js';
import type { ExportVolume } from './source.js';
import { tarEnd, tarHeader, tarPadding } from './tar.js';

/** Runs qemu-img with these arguments (the real adapter is src/storage/qemu-img.ts's runQemuImg). */
export type QemuImgRun = (args: string[]) => Promise<string>;

export interface ExportBody {
  stream: Readable;
  /** Known for the formats streamed as they are (raw, qcow2); undefined when compressed. */
  length: number | undefined;
  contentType: string;
  /** Removes the temporary file; call once the stream is done or abandoned. */
  cleanup(): Promise<void>;
}

/** The flat image a format is made from: raw for all of KubeVirt's, qcow2 for ours. */
export const imageFormatFor = (format: ExportFormat): 'raw' | 'qcow2' =>
  format === 'qcow2' ? 'qcow2' : 'raw';

export async function exportBody(
  volume: ExportVolume,
  format: ExportFormat,
  tmpRoot: string,
  qemuImg: QemuImgRun,
): Promise<ExportBody> {
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'export-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const out = imageFormatFor(format);
    const file = join(dir, `disk.${out === 'raw' ? 'img' : 'qcow2'}`);
    await qemuImg(['convert', '-f', volume.format, '-O', out, volume.file, file]);
    const size = (await stat(file)).size;
    const plain = (): Readable => createReadStream(file);
    if (format === 'raw' || format === 'qcow2' || format === 'dir')
      return {
        stream: plain(),
        length: size,
        contentType: 'application/octet-stream',
        cleanup,
      };
    if (format === 'gzip')
      return {
        stream: plain().pipe(createGzip()),
        length: undefined,
        contentType: 'application/gzip',
        cleanup,
      };
    return {
      stream: tarball(file, size).pipe(createGzip()),
      length: undefined,
      contentType: 'application/gzip',
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A tar stream of one member, `disk.img`, read from `file` as it goes. */
function tarball(file: string, size: number): Readable {
  async function* parts(): AsyncGenerator<Buffer> {
    yield tarHeader('disk.img', size, new Date());
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
    yield tarPadding(size);
    yield tarEnd();
  }
  return Readable.from(parts());
}
