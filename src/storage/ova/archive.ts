/**
 * Reads an OVA (a tar archive) in one streamed pass, whether it comes from a file or from a URL:
 * the bytes are never held whole, only the OVF descriptor is (up to a limit). Every member name is
 * checked (plain files only, no path tricks, no member twice), the first member must be the .ovf
 * descriptor (as the OVF standard puts it), and the caller sees the parsed OVF before any disk is
 * read, so it can print the plan or refuse. The disk members the OVF names are spooled into private
 * files of the caller's directory; nothing is trusted until the whole archive has passed, so a bad
 * member at the end still refuses the import before anything is created.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { formatBytes } from '../../api/quantity.js';
import { OvfError, parseOvf, type Ovf } from './ovf.js';
import { memberNameProblem } from './plan.js';

/** The OVF descriptor is read whole; one larger than this is not a descriptor. */
export const MAX_OVF_BYTES = 4 * 1024 * 1024;

export interface ReadOvaOptions {
  /** Where the disk members go (`disk0`, `disk1`… in OVF order); without it nothing is spooled (a dry run). */
  spoolDir?: string;
  /** The archive may not be larger than this many bytes. */
  maxBytes: number;
  /** Called with the OVF before any disk member is read; throwing stops the import. */
  onOvf?: (ovf: Ovf) => void | Promise<void>;
}

export interface OvaContents {
  ovf: Ovf;
  /** Every member name, in archive order. */
  members: string[];
  /** OVA member name (an OVF disk's href) → its spooled file. Empty without a spool directory. */
  files: Map<string, string>;
}

/** One member of the archive as tar-stream gives it: its header, and its bytes to read once. */
type Entry = AsyncIterable<unknown> & { header: Header };

/** Reads a member through, to reach the next one. */
async function skip(entry: Entry): Promise<void> {
  for await (const chunk of entry) void chunk;
}

async function readText(entry: Entry, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    const bytes = Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size > limit) throw new OvfError(`the OVF descriptor is larger than ${limit} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Passes bytes through until more than `max` went by, then fails the stream. */
export function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max)
        done(new OvfError(`the OVA is larger than the limit of ${formatBytes(max)} (--max-size)`));
      else done(null, chunk);
    },
  });
}

export async function readOvaStream(input: Readable, options: ReadOvaOptions): Promise<OvaContents> {
  const tar = extract();
  const limited = byteLimit(options.maxBytes);
  input.on('error', (err) => limited.destroy(err));
  limited.on('error', (err) => tar.destroy(err));
  input.pipe(limited).pipe(tar);
  const problems: string[] = [];
  const seen = new Set<string>();
  const files = new Map<string, string>();
  let ovf: Ovf | undefined;
  /** Disk member name → the file it is spooled to. */
  let wanted = new Map<string, string>();
  let index = 0;
  try {
    for await (const entry of tar as AsyncIterable<Entry>) {
      const { name, type } = entry.header;
      const problem = memberNameProblem(name);
      const first = index++ === 0;
      if (problem !== undefined) problems.push(problem);
      else if (type !== 'file') problems.push(`member ${JSON.stringify(name)} is a ${type}, not a file`);
      else if (seen.has(name)) problems.push(`member ${JSON.stringify(name)} appears twice`);
      const plain = problem === undefined && type === 'file' && !seen.has(name);
      seen.add(name);
      if (first && plain && name.toLowerCase().endsWith('.ovf')) {
        ovf = parseOvf(await readText(entry, MAX_OVF_BYTES));
        await options.onOvf?.(ovf);
        const dir = options.spoolDir;
        if (dir !== undefined) wanted = new Map(ovf.disks.map((d, i) => [d.href, join(dir, `disk${i}`)]));
        continue;
      }
      const target = plain ? wanted.get(name) : undefined;
      if (target === undefined || problems.length > 0) {
        await skip(entry);
        continue;
      }
      await pipeline(Readable.from(entry), createWriteStream(target, { mode: 0o600 }));
      files.set(name, target);
    }
  } finally {
    input.destroy();
  }
  if (ovf === undefined) problems.unshift('the first member of an OVA must be its .ovf descriptor');
  if (problems.length > 0 || ovf === undefined)
    throw new OvfError(`refusing the OVA:\n  ${problems.join('\n  ')}`);
  for (const d of ovf.disks)
    if (!seen.has(d.href))
      throw new OvfError(`disk ${d.id}: the OVA has no member ${JSON.stringify(d.href)}`);
  return { ovf, members: [...seen], files };
}
