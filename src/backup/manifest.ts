/**
 * The manifest of one backup: for every disk, the full map of chunk index → sha256 of the chunk's
 * uncompressed bytes and where the chunk is stored (pack, offset, length; zero chunks are absent),
 * plus the application's spec to put back on restore. An incremental backup's manifest is the
 * previous map with the changed chunks replaced, so a restore of any point reads one manifest and
 * never walks a chain, and the packs a manifest names are exactly the ones it needs.
 *
 * The file carries its own checksum: the sha256 of the JSON text without the checksum field, which
 * is appended as the last field. Reading re-serializes the rest (JSON key order is kept) and
 * compares, so a truncated or edited manifest is refused.
 */
import { createHash } from 'node:crypto';

/** 2: chunks in packs. 1 (one object per chunk, before packs) is refused: LegacyManifestError. */
export const MANIFEST_VERSION = 2;

/**
 * [chunk index, sha256 hex of the uncompressed chunk, pack (an index into Manifest.packs), offset
 * and length of the chunk's zstd frame in the pack].
 */
export type ManifestChunk = [index: number, hash: string, pack: number, offset: number, length: number];

export interface ManifestDisk {
  name: string;
  virtualSize: number;
  /** Whether this disk was read in full for this backup (else only the changed extents). */
  full: boolean;
  fullReason?: string;
  /** Ascending by index; an index absent reads as zeros. */
  chunks: ManifestChunk[];
}

export interface Manifest {
  version: number;
  /** '<namespace>/<application>/<backup name>' */
  key: string;
  created: string;
  /** The backup this one was taken incrementally from. */
  previous?: string;
  chunkSize: number;
  /** The ids of the packs the chunks are in (packs.ts), each once. */
  packs: string[];
  disks: ManifestDisk[];
  spec: unknown;
}

export class ManifestError extends Error {
  constructor(uri: string, why: string) {
    super(`backup manifest ${uri} is not valid: ${why}`);
    this.name = 'ManifestError';
  }
}

/** A manifest of an older format, which this version does not read (README.md, "Older repositories"). */
export class LegacyManifestError extends ManifestError {
  constructor(
    uri: string,
    readonly version: number,
  ) {
    super(
      uri,
      `it is of format version ${version} (one object per chunk, written before packs), which this version ` +
        `no longer reads: restore it with the release that wrote it, or delete it and take a new full backup`,
    );
    this.name = 'LegacyManifestError';
  }
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The manifest's bytes and their checksum ('sha256:…'). */
export function encodeManifest(m: Manifest): { data: Buffer; checksum: string } {
  const text = JSON.stringify(m);
  const checksum = `sha256:${sha256(text)}`;
  return { data: Buffer.from(`${text.slice(0, -1)},"checksum":${JSON.stringify(checksum)}}`), checksum };
}

const HASH = /^[0-9a-f]{64}$/;
const PACK_ID = /^[0-9a-f]{32}$/;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and verifies a manifest read from `uri`; throws ManifestError naming what is wrong. */
export function decodeManifest(data: Buffer, uri: string): { manifest: Manifest; checksum: string } {
  let obj: unknown;
  try {
    obj = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ManifestError(uri, 'not JSON (truncated?)');
  }
  if (!isObject(obj)) throw new ManifestError(uri, 'not an object');
  const { checksum, ...rest } = obj;
  if (typeof checksum !== 'string') throw new ManifestError(uri, 'no checksum');
  if (checksum !== `sha256:${sha256(JSON.stringify(rest))}`)
    throw new ManifestError(uri, 'checksum mismatch');
  if (rest.version === 1) throw new LegacyManifestError(uri, 1);
  if (rest.version !== MANIFEST_VERSION)
    throw new ManifestError(uri, `unknown version ${String(rest.version)}`);
  if (typeof rest.key !== 'string' || typeof rest.created !== 'string')
    throw new ManifestError(uri, 'no key');
  if (!isSize(rest.chunkSize) || rest.chunkSize === 0) throw new ManifestError(uri, 'bad chunkSize');
  if (rest.previous !== undefined && typeof rest.previous !== 'string')
    throw new ManifestError(uri, 'bad previous');
  if (!Array.isArray(rest.packs) || !rest.packs.every((p) => typeof p === 'string' && PACK_ID.test(p)))
    throw new ManifestError(uri, 'bad packs');
  const packs = rest.packs.length;
  if (!Array.isArray(rest.disks)) throw new ManifestError(uri, 'no disks');
  const chunkSize = rest.chunkSize;
  rest.disks.forEach((d: unknown, i) => {
    const at = `disks[${i}]`;
    if (!isObject(d) || typeof d.name !== 'string' || !isSize(d.virtualSize) || typeof d.full !== 'boolean')
      throw new ManifestError(uri, `${at}: bad name, virtualSize or full`);
    if (!Array.isArray(d.chunks)) throw new ManifestError(uri, `${at}.chunks: not a list`);
    const count = Math.ceil(d.virtualSize / chunkSize);
    let last = -1;
    for (const c of d.chunks as unknown[]) {
      if (
        !Array.isArray(c) ||
        c.length !== 5 ||
        !isSize(c[0]) ||
        typeof c[1] !== 'string' ||
        !HASH.test(c[1]) ||
        !isSize(c[2]) ||
        c[2] >= packs ||
        !isSize(c[3]) ||
        !isSize(c[4]) ||
        c[4] === 0
      )
        throw new ManifestError(uri, `${at}.chunks: bad entry ${JSON.stringify(c)}`);
      if (c[0] <= last || c[0] >= count)
        throw new ManifestError(uri, `${at}.chunks: index ${c[0]} out of order or range`);
      last = c[0];
    }
  });
  return { manifest: rest as unknown as Manifest, checksum };
}
