/**
 * What an imported file is: gzip or xz compressed (undone here), an archive or another
 * compression (refused), then a disk image qemu-img understands. Only standalone images of the
 * formats CDI accepts are let in: a backing file or external data file could point at any file
 * of this host.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ImageInfo, ImageTool } from '../ports.js';
import { ImportError, asImportError } from './errors.js';
import { SparseFileWriter } from './sparse.js';

export type Compression = 'gzip' | 'xz' | 'none';

/** qemu-img format names accepted, with the names users know them by. */
export const ACCEPTED_FORMATS: Record<string, string> = {
  raw: 'raw (or ISO)',
  qcow2: 'qcow2',
  vmdk: 'VMDK',
  vpc: 'VHD',
  vhdx: 'VHDX',
  vdi: 'VDI',
};

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

/** qemu-img's view of the (decompressed) file, refusing what may not be imported. */
export async function inspect(images: ImageTool, path: string): Promise<ImageInfo> {
  sniff(await readHead(path));
  let info: ImageInfo;
  try {
    info = await images.info(path);
  } catch (err) {
    throw new ImportError(
      'CorruptImage',
      `the image is corrupt or not a disk image: ${err instanceof Error ? err.message : String(err)}`,
      true,
    );
  }
  if (ACCEPTED_FORMATS[info.format] === undefined)
    throw new ImportError(
      'UnsupportedFormat',
      `unsupported image format ${JSON.stringify(info.format)}: import ${Object.values(ACCEPTED_FORMATS).join(', ')}, optionally gzip or xz compressed`,
      true,
    );
  if (info.backingFile !== undefined || info.dataFile !== undefined)
    throw new ImportError(
      'UnsupportedFormat',
      `the image refers to another file (${info.backingFile ?? info.dataFile ?? ''}): import a standalone image (qemu-img convert -O qcow2 IN OUT)`,
      true,
    );
  if (info.encrypted)
    throw new ImportError('UnsupportedFormat', 'the image is encrypted: import an unencrypted image', true);
  const problems = await images.check(path, info.format);
  if (problems.length > 0)
    throw new ImportError(
      'CorruptImage',
      `the ${ACCEPTED_FORMATS[info.format] ?? info.format} image is corrupt: ${problems.slice(0, 2).join('; ')}${problems.length > 2 ? ` (and ${problems.length - 2} more errors)` : ''}`,
      true,
    );
  return info;
}
