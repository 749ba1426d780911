/**
 * Fills a volume's disk file from a source, the way CDI's importer, upload server and host-assisted
 * clone do: receive (with checksum), undo gzip/xz, check the image, convert it with qemu-img to
 * the pool's format, grow it to the volume's size, and only then rename it over the volume's file.
 * Every intermediate file sits next to the volume (so "no space" is the pool's) and is removed
 * whatever happens: a failed import leaves the volume as it was.
 */
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Checksum } from '../../api/cdi/checksum.js';
import { formatBytes } from '../../api/quantity.js';
import { freeBytes } from '../pool.js';
import type { DiskFormat } from '../inspect.js';
import type { ImageTool, PoolFormat } from '../ports.js';
import { ImportError, asImportError } from './errors.js';
import { decompress, inspect, readHead, sniff } from './format.js';
import type { OpenedSource } from './http.js';
import type { OutboundPolicy } from '../../network/outbound.js';
import { RegistryClient, type RegistrySource } from './registry.js';
import { SparseFileWriter } from './sparse.js';
import { receive } from './transfer.js';

export interface Target {
  /** The volume's disk file (replaced only on success). */
  path: string;
  format: PoolFormat;
  /** The volume's size: the image is grown to it; a bigger image is refused. */
  bytes: number;
}

export interface PopulateOptions {
  images: ImageTool;
  /** Overall progress in percent, [0, 100]. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

/** Share of the progress bar given to receiving the bytes; converting takes the rest. */
const RECEIVE_SHARE = 90;

export interface PopulateResult {
  sourceFormat: string;
  compression: string;
  virtualSize: number;
  received: number;
}

export async function populateFromStream(
  open: () => Promise<OpenedSource>,
  target: Target,
  options: PopulateOptions & { checksum?: Checksum },
): Promise<PopulateResult> {
  const download = `${target.path}.download.part`;
  const plain = `${target.path}.plain.part`;
  const out = `${target.path}.import.part`;
  const progress = options.onProgress ?? (() => undefined);
  try {
    const source = await open();
    if (source.total !== undefined) {
      const free = await freeBytes(dirname(target.path));
      if (source.total > free) {
        source.stream.destroy();
        throw new ImportError(
          'NoSpace',
          `the image (${formatBytes(source.total)}) does not fit in the storage pool ${dirname(target.path)} (${formatBytes(free)} free)`,
          true,
        );
      }
    }
    const received = await receive(source.stream, download, {
      total: source.total,
      ...(options.checksum !== undefined ? { checksum: options.checksum } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onBytes: (n, total) => {
        if (total !== undefined) progress((RECEIVE_SHARE * n) / total);
      },
    });
    progress(RECEIVE_SHARE);
    const compression = sniff(await readHead(download));
    let image = download;
    if (compression !== 'none') {
      await decompress(download, plain, compression, options.signal);
      await rm(download, { force: true });
      image = plain;
    }
    const info = await inspect(options.images, image);
    await convertInto(image, info.format, info.virtualSize, out, target, options, RECEIVE_SHARE);
    return { sourceFormat: info.format, compression, virtualSize: info.virtualSize, received };
  } catch (err) {
    throw asImportError(err, 'importing the image');
  } finally {
    await Promise.all([download, plain, out].map((f) => rm(f, { force: true })));
  }
}

/** A containerDisk from a registry: its `disk/*` file, then as an imported file. */
export async function populateFromRegistry(
  source: RegistrySource,
  target: Target,
  options: PopulateOptions & { targets: OutboundPolicy },
): Promise<PopulateResult> {
  const blob = `${target.path}.layer.part`;
  const download = `${target.path}.download.part`;
  const plain = `${target.path}.plain.part`;
  const out = `${target.path}.import.part`;
  const progress = options.onProgress ?? (() => undefined);
  try {
    const client = new RegistryClient(source, options.targets, undefined, options.signal);
    await client.extractDisk(
      blob,
      () => new SparseFileWriter(download),
      (n, total) => progress((RECEIVE_SHARE * n) / Math.max(1, total)),
    );
    await rm(blob, { force: true });
    progress(RECEIVE_SHARE);
    const compression = sniff(await readHead(download));
    let image = download;
    if (compression !== 'none') {
      await decompress(download, plain, compression, options.signal);
      image = plain;
    }
    const info = await inspect(options.images, image);
    await convertInto(image, info.format, info.virtualSize, out, target, options, RECEIVE_SHARE);
    return { sourceFormat: info.format, compression, virtualSize: info.virtualSize, received: 0 };
  } catch (err) {
    throw asImportError(err, 'pulling the image');
  } finally {
    await Promise.all([blob, download, plain, out].map((f) => rm(f, { force: true })));
  }
}

/**
 * Host-assisted clone: the source volume's file, converted into the target volume. Its format is
 * the pool's for the source claim (never probed: a guest may have written any header into a raw
 * volume); its snapshot layers, made by the platform, are read through.
 */
export async function populateFromFile(
  src: string,
  srcFormat: PoolFormat,
  target: Target,
  options: PopulateOptions,
): Promise<PopulateResult> {
  const out = `${target.path}.import.part`;
  try {
    const info = await options.images.info(src, srcFormat);
    await convertInto(src, srcFormat, info.virtualSize, out, target, { ...options, poolVolume: true }, 0);
    return { sourceFormat: srcFormat, compression: 'none', virtualSize: info.virtualSize, received: 0 };
  } catch (err) {
    throw asImportError(err, 'cloning the volume');
  } finally {
    await rm(out, { force: true });
  }
}

async function convertInto(
  image: string,
  format: DiskFormat,
  virtualSize: number,
  out: string,
  target: Target,
  options: PopulateOptions & { poolVolume?: boolean },
  from: number,
): Promise<void> {
  if (virtualSize > target.bytes)
    throw new ImportError(
      'ImageTooLarge',
      `virtual image size ${virtualSize} (${formatBytes(virtualSize)}) is larger than the volume (${formatBytes(target.bytes)}): a larger volume is required`,
      true,
    );
  const progress = options.onProgress ?? (() => undefined);
  try {
    await options.images.convert(image, format, out, target.format, {
      onProgress: (f) => progress(from + (100 - from) * f),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.poolVolume === true ? { poolVolume: true } : {}),
    });
  } catch (err) {
    const e = asImportError(err, 'converting the image');
    if (e.reason !== 'Error') throw e;
    throw new ImportError(
      'CorruptImage',
      `the ${format} image could not be read: ${err instanceof Error ? err.message : String(err)}`,
      true,
    );
  }
  if (virtualSize < target.bytes) await options.images.resize(out, target.format, target.bytes);
  await rename(out, target.path);
  progress(100);
}
