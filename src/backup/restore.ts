/**
 * Reads one disk of a backup back into a sink: every chunk of the manifest's map is fetched from
 * its pack by a ranged read (a few at once, written in order), decompressed and verified against
 * its name before a byte reaches the sink (decompressing and hashing in the codec's workers).
 * Chunks absent from the map are zeros, which the sink provides by not being written.
 */
import type { ChunkCodec } from './chunk-codec.js';
import { chunkLength } from './chunks.js';
import type { Manifest, ManifestChunk, ManifestDisk } from './manifest.js';
import { packKey } from './packs.js';
import { ObjectNotFoundError, type Target } from './target.js';
import type { DiskSink } from './types.js';

export async function restoreChunks(
  target: Target,
  codec: ChunkCodec,
  app: string,
  manifest: Manifest,
  disk: ManifestDisk,
  sink: DiskSink,
  concurrency: number,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const chunkSize = manifest.chunkSize;
  const fetchChunk = async ([index, hash, pack, offset, length]: ManifestChunk): Promise<Buffer> => {
    const key = packKey(app, manifest.packs[pack] ?? '');
    const where =
      `${hash} in ${target.uri}${key} at bytes ${offset}+${length} ` +
      `(disk "${disk.name}", offset ${index * chunkSize})`;
    let stored: Buffer;
    try {
      stored = await target.getRange(key, offset, length, o.signal);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new Error(`chunk ${where} is missing`, { cause: err });
      throw err;
    }
    return codec.decode(stored, hash, chunkLength(index, chunkSize, disk.virtualSize), where);
  };

  const total = disk.chunks.length;
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < concurrency && next < total) {
      const entry = disk.chunks[next++];
      if (entry === undefined) break;
      const p = fetchChunk(entry);
      p.catch(() => undefined); // awaited in order below; this only keeps a later failure from being unhandled
      pending.push(p);
    }
  };
  for (let done = 0; done < total; done++) {
    o.signal?.throwIfAborted();
    fill();
    const entry = disk.chunks[done];
    const p = pending.shift();
    if (entry === undefined || p === undefined) break;
    const data = await p;
    await sink.write(entry[0] * chunkSize, data);
    o.onProgress?.((done + 1) * chunkSize, total * chunkSize);
  }
}
