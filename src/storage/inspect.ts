/**
 * The one inspection rule every disk image passes when it enters the platform (http and registry
 * imports, uploads of both kinds, containerDisk pulls, `hikube image import`): its format is read
 * from its own header here, never guessed by qemu-img, and only self-contained images are let in.
 * A backing file, an external data file, a VMDK extent or parent, a differencing VHD/VHDX: each
 * names another file, and a file name chosen by whoever sent the image could be any file of this
 * host (a key, a token, another tenant's disk). After the rule, qemu-img opens the image only
 * through `openArgs`: the format given, and no backing file followed.
 */
import { open } from 'node:fs/promises';
import { ImportError } from './import/errors.js';

/** qemu-img driver names of the formats let in. */
export type DiskFormat = 'raw' | 'qcow2' | 'vmdk' | 'vpc' | 'vhdx' | 'vdi';

export interface DetectedImage {
  format: DiskFormat;
  /** What users call it: "qcow2", "ISO", "streamOptimized VMDK", "fixed VHD"… */
  kind: string;
}

/** Random access to the bytes of an image (a file, or a buffer in tests). */
export interface ImageBytes {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

const ACCEPTED = 'qcow2, raw, ISO, VMDK (monolithicSparse or streamOptimized), VHD, VHDX or VDI';

export const refused = (why: string): ImportError =>
  new ImportError('UnsupportedFormat', `${why}: import a self-contained ${ACCEPTED} image`, true);

const refersToFile = (what: string): ImportError =>
  refused(`the image refers to another file (${what}), which could be any file of this host`);

/** Formats qemu knows that are refused outright, by their magic at offset 0. */
const REFUSED_MAGIC: [string, string][] = [
  ['QED\0', 'a QED image'],
  ['LUKS\xba\xbe', 'a LUKS encrypted image'],
  ['COWD', 'a VMDK3 (COWD) image'],
  ['WithoutFreeSpace', 'a Parallels image'],
  ['WithouFreSpacExt', 'a Parallels image'],
  ['Bochs Virtual HD Image', 'a Bochs image'],
  ['#!/bin/sh\n#V2.0 Format', 'a cloop image'],
];

/** `length` bytes at `offset`, zero-filled past the end of the image. */
async function readAt(bytes: ImageBytes, offset: number, length: number): Promise<Buffer> {
  const got = offset < bytes.size ? await bytes.read(offset, length) : Buffer.alloc(0);
  return got.length >= length ? got : Buffer.concat([got, Buffer.alloc(length - got.length)]);
}

/** The format of an image from its header, or an ImportError saying why it is refused. */
export async function detectImage(bytes: ImageBytes): Promise<DetectedImage> {
  const head = await readAt(bytes, 0, 512);
  const starts = (magic: string): boolean =>
    head.subarray(0, magic.length).equals(Buffer.from(magic, 'latin1'));
  if (starts('QFI\xfb')) return qcow2(head, bytes);
  if (starts('KDMV')) return vmdk(head, bytes);
  if (starts('conectix')) return vhd(head, 'dynamic');
  if (starts('vhdxfile')) return vhdx(bytes);
  if (head.readUInt32LE(64) === 0xbeda107f) return vdi(head);
  for (const [magic, what] of REFUSED_MAGIC) if (starts(magic)) throw refused(`the file is ${what}`);
  if (
    /^\s*#\s*Disk DescriptorFile/i.test(head.toString('latin1')) ||
    /createType\s*=/.test(head.toString('latin1'))
  )
    throw refused('the file is a VMDK descriptor, whose extents are other files');
  if (bytes.size >= 1024) {
    const tail = await readAt(bytes, bytes.size - 512, 512);
    if (tail.subarray(0, 8).toString('latin1') === 'conectix') return vhd(tail, 'fixed');
    const koly = tail.subarray(0, 4).toString('latin1') === 'koly';
    if (koly) throw refused('the file is a DMG image');
  }
  if (bytes.size >= 0x8006 && (await readAt(bytes, 0x8001, 5)).toString('latin1') === 'CD001')
    return { format: 'raw', kind: 'ISO' };
  return { format: 'raw', kind: 'raw' };
}

/** The header of a qcow2 (big-endian): no backing file, no external data file, not encrypted. */
async function qcow2(head: Buffer, bytes: ImageBytes): Promise<DetectedImage> {
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw refused(`unsupported qcow2 version ${version}`);
  if (head.readBigUInt64BE(8) !== 0n) throw refersToFile('a qcow2 backing file');
  if (head.readUInt32BE(32) !== 0) throw refused('the image is encrypted');
  let extensionsAt = 72;
  if (version === 3) {
    const incompatible = head.readBigUInt64BE(72);
    // Bit 2: the guest data lives in an external data file named in a header extension.
    if ((incompatible & 4n) !== 0n) throw refersToFile('a qcow2 external data file');
    // Bits 0 (dirty), 1 (corrupt), 3 (compression type) and 4 (extended L2) are self-contained.
    if ((incompatible & ~0x1bn) !== 0n)
      throw refused(`unknown qcow2 incompatible features 0x${incompatible.toString(16)}`);
    extensionsAt = head.readUInt32BE(100);
  }
  // Header extensions: type, length, data padded to 8 bytes; type 0 ends them.
  let at = extensionsAt;
  for (let n = 0; n < 64 && at + 8 <= Math.min(bytes.size, 65536); n++) {
    const ext = await readAt(bytes, at, 8);
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    if (type === 0) break;
    if (type === 0x44415441) throw refersToFile('a qcow2 external data file');
    if (type === 0x0537be77) throw refused('the image is encrypted');
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return { format: 'qcow2', kind: 'qcow2' };
}

/** Sparse VMDK (little-endian header) with its embedded descriptor: one extent, itself; no parent. */
async function vmdk(head: Buffer, bytes: ImageBytes): Promise<DetectedImage> {
  const capacity = head.readBigUInt64LE(12);
  const descriptorSectors = head.readBigUInt64LE(28);
  const descriptorLength = Number(head.readBigUInt64LE(36)) * 512;
  // qemu reads a sparse header of capacity 0 as a pointer to a descriptor whose extents it opens.
  if (capacity === 0n) throw refersToFile('a VMDK descriptor naming its extents');
  if (descriptorSectors === 0n || descriptorLength === 0) return { format: 'vmdk', kind: 'VMDK' };
  if (descriptorLength > 1048576) throw refused('the VMDK descriptor is larger than 1 MiB');
  const descriptor = (await readAt(bytes, Number(descriptorSectors) * 512, descriptorLength))
    .toString('latin1')
    .replace(/\0.*$/s, '');
  const createType = /^\s*createType\s*=\s*"([^"]*)"/m.exec(descriptor)?.[1] ?? '';
  if (createType !== 'monolithicSparse' && createType !== 'streamOptimized')
    throw refused(`the VMDK is of type ${JSON.stringify(createType)}, whose extents are other files`);
  const parent = /^\s*parentCID\s*=\s*(\S+)/m.exec(descriptor)?.[1];
  if (
    (parent !== undefined && parent.toLowerCase() !== 'ffffffff') ||
    /^\s*parentFileNameHint\s*=/m.test(descriptor)
  )
    throw refersToFile('a VMDK parent');
  const extents = [...descriptor.matchAll(/^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\S+)(?:\s+"([^"]*)")?/gm)];
  const extent = extents[0];
  if (extents.length !== 1 || extent?.[2] !== 'SPARSE' || /[/\\]/.test(extent[3] ?? ''))
    throw refersToFile(`VMDK extents ${extents.map((e) => JSON.stringify(e[0].trim())).join(', ')}`);
  return { format: 'vmdk', kind: `${createType} VMDK` };
}

/** A VHD footer (big-endian): fixed or dynamic; a differencing disk names its parent. */
function vhd(footer: Buffer, where: 'fixed' | 'dynamic'): DetectedImage {
  const type = footer.readUInt32BE(60);
  if (type === 4) throw refersToFile('a differencing VHD parent');
  if (type !== 2 && type !== 3) throw refused(`unknown VHD disk type ${type}`);
  if (where === 'fixed' && type !== 2) throw refused('a dynamic VHD without its header copy');
  return { format: 'vpc', kind: type === 2 ? 'fixed VHD' : 'dynamic VHD' };
}

/** Little-endian GUID bytes of a textual GUID, as VHDX stores them. */
function guid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

const VHDX_METADATA_REGION = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VHDX_FILE_PARAMETERS = guid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');
const VHDX_PARENT_LOCATOR = guid('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');

/** VHDX: the region table (at 192 KiB) leads to the metadata; a differencing disk has a parent. */
async function vhdx(bytes: ImageBytes): Promise<DetectedImage> {
  const regions = await readAt(bytes, 192 * 1024, 64 * 1024);
  if (regions.subarray(0, 4).toString('latin1') !== 'regi') throw refused('the VHDX region table is missing');
  const count = Math.min(regions.readUInt32LE(8), 2047);
  let metadata: { offset: number; length: number } | undefined;
  for (let i = 0; i < count; i++) {
    const entry = regions.subarray(16 + i * 32, 48 + i * 32);
    if (entry.length < 32) break;
    if (entry.subarray(0, 16).equals(VHDX_METADATA_REGION))
      metadata = { offset: Number(entry.readBigUInt64LE(16)), length: entry.readUInt32LE(24) };
  }
  if (metadata === undefined) throw refused('the VHDX has no metadata region');
  const table = await readAt(bytes, metadata.offset, 64 * 1024);
  if (table.subarray(0, 8).toString('latin1') !== 'metadata')
    throw refused('the VHDX metadata table is missing');
  const entries = Math.min(table.readUInt16LE(10), 2047);
  let parameters: Buffer | undefined;
  for (let i = 0; i < entries; i++) {
    const entry = table.subarray(32 + i * 32, 64 + i * 32);
    if (entry.length < 32) break;
    const item = entry.subarray(0, 16);
    if (item.equals(VHDX_PARENT_LOCATOR)) throw refersToFile('a differencing VHDX parent');
    if (item.equals(VHDX_FILE_PARAMETERS))
      parameters = await readAt(bytes, metadata.offset + entry.readUInt32LE(16), 8);
  }
  if (parameters === undefined) throw refused('the VHDX has no file parameters');
  // File parameters: block size, then flags whose bit 1 is HasParent.
  if ((parameters.readUInt32LE(4) & 2) !== 0) throw refersToFile('a differencing VHDX parent');
  return { format: 'vhdx', kind: 'VHDX' };
}

/** VDI: normal (dynamic) or fixed; undo and differencing images have a parent. */
function vdi(head: Buffer): DetectedImage {
  const type = head.readUInt32LE(76);
  if (type === 3 || type === 4) throw refersToFile('a differencing VDI parent');
  if (type !== 1 && type !== 2) throw refused(`unknown VDI image type ${type}`);
  return { format: 'vdi', kind: 'VDI' };
}

/** The bytes of a file on disk. */
export async function detectFile(path: string): Promise<DetectedImage> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return await detectImage({
      size,
      async read(offset, length) {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
    });
  } finally {
    await fh.close();
  }
}

/**
 * How qemu-img is told to open an inspected image: the format given (never probed) and, through
 * `json:`, no backing file followed whatever the header says. Use as `qemu-img CMD ...openArgs()`.
 */
export function openArgs(path: string, format: DiskFormat): string[] {
  const spec = { driver: format, backing: null, file: { driver: 'file', filename: path } };
  return ['-f', format, `json:${JSON.stringify(spec)}`];
}
