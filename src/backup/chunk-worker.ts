/**
 * A worker thread of the chunk codec (`chunk-codec.ts`): runs the pure per-chunk functions of
 * `chunks.ts` off the main thread; frames go into the frame buffer sent with each chunk, and
 * everything goes back by transfer (the chunk's own buffer too, to be read into again).
 */
import { parentPort } from 'node:worker_threads';
import { checkChunk, inspectChunkInto } from './chunks.js';
import { transferable, type WorkerReply, type WorkerRequest } from './chunk-codec.js';

const port = parentPort;
if (port === null) throw new Error('chunk-worker.js runs only as a worker thread');

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const data = Buffer.from(req.buf, req.offset, req.length);
    if (req.op === 'inspect') {
      const r = inspectChunkInto(data, Buffer.from(req.out));
      reply = r.zero
        ? { id: req.id, zero: true, out: req.out, in: req.buf }
        : { id: req.id, hash: r.hash, frame: r.length, out: req.out, in: req.buf };
    } else {
      const r = checkChunk(data, req.hash, req.size);
      reply =
        'why' in r
          ? { id: req.id, why: r.why }
          : { id: req.id, hash: req.hash, ...transferable(r.data, true) };
    }
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, 'buf' in reply ? [reply.buf] : 'out' in reply ? [reply.out, reply.in] : []);
});
