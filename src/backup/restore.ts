/**
 * Reads one disk of a backup back into a sink: every chunk of the manifest's map is fetched (a few
 * at once, written in order), decompressed and verified against its name before a byte reaches the
 * sink (decompressing and hashing in the codec's workers). Chunks absent from the map are zeros, which the sink provides by not being written.
 */
import type { ChunkCodec } from './chunk-codec.js';
import { chunkKey, chunkLength } from './chunks.js';
import type { ManifestDisk } from './manifest.js';
import { ObjectNotFoundError, type Target } from './target.js';
import type { DiskSink } from './types.js';

export async function restoreChunks(
  target: Target,
  codec: ChunkCodec,
  app: string,
  chunkSize: number,
  disk: ManifestDisk,
  sink: DiskSink,
  concurrency: number,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const fetchChunk = async (index: number, hash: string): Promise<Buffer> => {
    const key = chunkKey(app, hash);
    const where = `${target.uri}${key} (disk "${disk.name}", offset ${index * chunkSize})`;
    let stored: Buffer;
    try {
      stored = await target.get(key, o.signal);
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
      const p = fetchChunk(entry[0], entry[1]);
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
