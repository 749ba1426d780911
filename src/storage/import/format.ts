/**
 * What an imported file is: gzip or xz compressed (undone here), an archive or another
 * compression (refused), then a disk image that passes the inspection rule (../inspect.ts) and
 * `qemu-img check`.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { detectFile, refused, type DiskFormat } from '../inspect.js';
import type { ImageInfo, ImageTool } from '../ports.js';
import { ImportError, asImportError } from './errors.js';
import { SparseFileWriter } from './sparse.js';

export type Compression = 'gzip' | 'xz' | 'none';

const UNSUPPORTED_MAGIC: [string, Buffer, number][] = [
  ['a zip archive', Buffer.from('504b0304', 'hex'), 0],
  ['bzip2 compressed data', Buffer.from('BZh'), 0],
  ['zstd compressed data', Buffer.from('28b52ffd', 'hex'), 0],
  ['a tar archive', Buffer.from('ustar'), 257],
];

export async function readHead(path: string, bytes = 512): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The compression of a file from its first bytes; throws for the kinds that are refused. */
export function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from('fd377a585a00', 'hex'))) return 'xz';
  for (const [what, magic, at] of UNSUPPORTED_MAGIC) {
    if (head.subarray(at, at + magic.length).equals(magic))
      throw new ImportError(
        'UnsupportedFormat',
        `the file is ${what}, not a disk image: import a qcow2, raw, ISO, VMDK, VDI, VHD or VHDX image, optionally gzip or xz compressed`,
        true,
      );
  }
  return 'none';
}

export async function decompress(
  src: string,
  dest: string,
  kind: Exclude<Compression, 'none'>,
  signal?: AbortSignal,
): Promise<void> {
  if (kind === 'gzip') {
    try {
      await pipeline(
        createReadStream(src, { highWaterMark: 1 << 20 }),
        createGunzip(),
        new SparseFileWriter(dest),
        {
          ...(signal !== undefined ? { signal } : {}),
        },
      );
    } catch (err) {
      const e = asImportError(err, 'decompressing gzip');
      if (e.reason !== 'Error') throw e;
      throw new ImportError('CorruptImage', `the gzip data is corrupt: ${(err as Error).message}`, true);
    }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const xz = spawn('xz', ['-dc', '-T0', src], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal !== undefined ? { signal } : {}),
    });
    let stderr = '';
    xz.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const written = pipeline(xz.stdout, new SparseFileWriter(dest));
    xz.on('error', (err) => reject(asImportError(err, 'decompressing xz')));
    xz.on('close', (code) => {
      written.then(
        () =>
          code === 0
            ? resolve()
            : reject(
                /no space/i.test(stderr)
                  ? asImportError(new Error(stderr), 'decompressing xz')
                  : new ImportError(
                      'CorruptImage',
                      `the xz data is corrupt: ${stderr.trim().replace(/^xz: /, '')}`,
                      true,
                    ),
              ),
        (err: unknown) => reject(asImportError(err, 'decompressing xz')),
      );
    });
  });
}

/**
 * The (decompressed) file through the inspection rule (../inspect.ts), then qemu-img's view of it,
 * opened the safe way: what is returned has `format` set from the header, never probed.
 */
export async function inspect(images: ImageTool, path: string): Promise<ImageInfo & { format: DiskFormat }> {
  sniff(await readHead(path));
  const detected = await detectFile(path);
  let info: ImageInfo;
  try {
    info = await images.info(path, detected.format);
  } catch (err) {
    throw new ImportError(
      'CorruptImage',
      `the ${detected.kind} image is corrupt: ${err instanceof Error ? err.message : String(err)}`,
      true,
    );
  }
  // qemu-img reports what the header names even though it did not open it: a second net.
  if (info.backingFile !== undefined || info.dataFile !== undefined)
    throw refused(`the image refers to another file (${info.backingFile ?? info.dataFile ?? ''})`);
  if (info.encrypted) throw refused('the image is encrypted');
  const problems = await images.check(path, detected.format);
  if (problems.length > 0)
    throw new ImportError(
      'CorruptImage',
      `the ${detected.kind} image is corrupt: ${problems.slice(0, 2).join('; ')}${problems.length > 2 ? ` (and ${problems.length - 2} more errors)` : ''}`,
      true,
    );
  return { ...info, format: detected.format };
}

/**
 * A received file made an image-store disk in `dir`: decompressed, inspected, kept when it is
 * qcow2 or raw, converted to qcow2 otherwise. The result names the file inside `dir`.
 */
export async function intoImageStore(
  images: ImageTool,
  received: string,
  dir: string,
): Promise<{ file: string; format: 'qcow2' | 'raw'; virtualSize: number }> {
  let image = received;
  const compression = sniff(await readHead(received));
  if (compression !== 'none') {
    image = join(dir, 'disk.plain');
    await decompress(received, image, compression);
    await rm(received, { force: true });
  }
  const info = await inspect(images, image);
  if (info.format === 'qcow2' || info.format === 'raw') {
    const file = `disk.${info.format === 'raw' ? 'img' : 'qcow2'}`;
    await rename(image, join(dir, file));
    return { file, format: info.format, virtualSize: info.virtualSize };
  }
  await images.convert(image, info.format, join(dir, 'disk.qcow2'), 'qcow2');
  await rm(image, { force: true });
  return { file: 'disk.qcow2', format: 'qcow2', virtualSize: info.virtualSize };
}
