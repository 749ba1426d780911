/**
 * Finds files in a tar stream (a container image layer) and copies them out: enough of ustar,
 * pax (`path=` records) and GNU long names to read what image builders write. A containerDisk
 * keeps its disk at `/disk/NAME` (KubeVirt's convention); whiteouts and other entries are skipped.
 */
import type { Readable, Writable } from 'node:stream';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  size: number;
}

/** Reads exactly n bytes (fewer only at the end of the stream). */
class Reader {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done === true) this.ended = true;
      else {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    this.chunks = [all.subarray(n)];
    this.length = all.length - out.length;
    return out;
  }

  /** Passes n bytes to `sink` (respecting its backpressure). */
  async pipe(n: number, sink: Writable): Promise<void> {
    let left = n;
    while (left > 0) {
      await this.fill(1);
      if (this.length === 0) throw new Error('the layer ends in the middle of a file');
      const chunk = await this.read(Math.min(left, this.length));
      left -= chunk.length;
      if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
    }
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      await this.fill(1);
      if (this.length === 0) return;
      left -= (await this.read(Math.min(left, this.length))).length;
    }
  }
}

const text = (b: Buffer, at: number, len: number): string => {
  const s = b.subarray(at, at + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
};
const octal = (b: Buffer, at: number, len: number): number => parseInt(text(b, at, len).trim() || '0', 8);
const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/**
 * Copies the first regular file whose path `wanted` accepts into `sink` (ended afterwards), and
 * returns it; undefined (sink untouched) when the archive has none.
 */
export async function extractFirst(
  stream: Readable,
  wanted: (path: string) => boolean,
  sink: Writable,
): Promise<TarEntry | undefined> {
  let found: TarEntry | undefined;
  await extractEach(
    stream,
    (path) => (found === undefined && wanted(path) ? sink : undefined),
    (e) => {
      found = e;
      return true;
    },
  );
  return found;
}

/**
 * Copies every regular file for which `sinkFor` gives a sink (ended afterwards); `done` is told of
 * each one copied and may end the walk early by answering true.
 */
export async function extractEach(
  stream: Readable,
  sinkFor: (path: string) => Writable | undefined,
  done: (entry: TarEntry) => boolean = () => false,
): Promise<void> {
  const r = new Reader(stream);
  let longName: string | undefined;
  for (;;) {
    const header = await r.read(BLOCK);
    if (header.length < BLOCK || header.every((x) => x === 0)) return;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0x30);
    const prefix = text(header, 345, 155);
    let name = longName ?? (prefix !== '' ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    if (type === 'x' || type === 'L') {
      const body = (await r.read(padded(size))).subarray(0, size).toString('utf8');
      if (type === 'L') longName = body.replace(/\0+$/, '');
      else for (const m of body.matchAll(/\d+ path=([^\n]*)\n/g)) longName = m[1];
      continue;
    }
    name = name.replace(/^\.?\//, '');
    const sink = type === '0' || type === '\0' ? sinkFor(name) : undefined;
    if (sink !== undefined) {
      await r.pipe(size, sink);
      await new Promise<void>((resolve, reject) => {
        sink.once('error', reject);
        sink.end(() => resolve());
      });
      if (done({ name, size })) return;
      await r.skip(padded(size) - size);
      continue;
    }
    await r.skip(padded(size));
  }
}
