/**
 * A real S3-protocol server for tests (npm `s3rver`, which answers the S3 REST API with AWS
 * Signature V4 checks and stores objects in a directory), on 127.0.0.1 with a random port and a
 * temp dir. Clients talk to it through a counting TCP proxy so a test can assert how many bytes
 * the server received (what an incremental backup sent), and can make the server fail mid-upload:
 * once a given number of bytes has arrived, every open connection is cut and new ones are refused
 * until `recover()`; or make it hang mid-upload (`holdAfter`: nothing more is read from clients
 * until `release()`), so a test can kill the client at a known point of its upload.
 *
 * s3rver streams a PUT's body straight into the object's file, so an upload cut short (its client
 * killed) leaves a truncated object that lists as present; S3 stores a PUT whole or not at all, and
 * the backup repository's resume relies on that (src/backup/README.md). The store is wrapped here
 * to keep S3's rule: the body is read whole and checked against Content-Length before it is stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** The credentials s3rver checks signatures with. */
export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

export interface S3TestServer {
  /** http://127.0.0.1:PORT of the counting proxy (what clients use). */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The directory s3rver keeps its buckets in. */
  dir: string;
  /** Bytes received from clients (request lines, headers and bodies) since start or `resetCount`. */
  bytesReceived(): number;
  resetCount(): void;
  /**
   * After `bytes` more bytes have arrived, cut every connection and refuse new ones (as if the
   * server died mid-upload). Resolves when that happened.
   */
  failAfter(bytes: number): Promise<void>;
  /** Whether the server is down (after failAfter fired and before recover). */
  isDown(): boolean;
  /**
   * After `bytes` more bytes have arrived, stop reading from every connection, open or new (the
   * server hangs mid-upload). Resolves when that happened.
   */
  holdAfter(bytes: number): Promise<void>;
  /** Reads from the connections again after `holdAfter`. */
  release(): void;
  /** Accepts connections again (the stored objects are kept, as after a restart). */
  recover(): void;
  /** Stops the proxy and s3rver and removes the temp dir. */
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

interface StoredObject {
  content: Readable | Buffer;
  /** Content-Length of the request (NaN when absent). */
  readonly size: number;
}

/** The whole body of a request, or a rejection if the client went before its end. */
function readWhole(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let ended = false;
    body.on('data', (d: Buffer) => parts.push(d));
    body.once('end', () => {
      ended = true;
      resolve(Buffer.concat(parts));
    });
    body.once('error', reject);
    body.once('aborted', () => reject(new Error('the client went mid-body')));
    body.once('close', () => {
      if (!ended) reject(new Error('the client went mid-body'));
    });
  });
}

/** Makes s3rver store a PUT whole or not at all, as S3 does. */
function atomicPuts(s3: S3rver): void {
  const store = (s3 as unknown as { store: { putObject(o: StoredObject): Promise<unknown> } }).store;
  const put = store.putObject.bind(store);
  store.putObject = async (object: StoredObject): Promise<unknown> => {
    if (!Buffer.isBuffer(object.content)) {
      const body = await readWhole(object.content);
      if (Number.isFinite(object.size) && body.length !== object.size)
        throw new Error(`incomplete body: ${body.length} of ${object.size} bytes`);
      object.content = body;
    }
    return put(object);
  };
}

export async function startS3Server(o: { bucket?: string; region?: string } = {}): Promise<S3TestServer> {
  const bucket = o.bucket ?? 'backups';
  const dir = await mkdtemp(join(tmpdir(), 'hikube-s3-'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  atomicPuts(s3);
  let backend: AddressInfo;
  try {
    backend = await s3.run();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let received = 0;
  let down = false;
  let trip: { at: number; fire: () => void } | undefined;
  let held = false;
  let hold: { at: number; fire: () => void } | undefined;
  const clients = new Set<Socket>();
  const sockets = new Set<Socket>();
  const cutAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const proxy = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(backend.port, '127.0.0.1');
    clients.add(client);
    client.on('close', () => clients.delete(client));
    if (held) client.pause();
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (d: Buffer) => {
      if (down) return;
      received += d.length;
      if (trip !== undefined && received >= trip.at) {
        const { fire } = trip;
        trip = undefined;
        down = true;
        cutAll();
        fire();
        return;
      }
      if (!upstream.write(d) || held) client.pause();
      if (hold !== undefined && received >= hold.at) {
        const { fire } = hold;
        hold = undefined;
        held = true;
        for (const c of clients) c.pause();
        fire();
      }
    });
    upstream.on('drain', () => {
      if (!held) client.resume();
    });
    upstream.pipe(client);
  });
  const port = await listen(proxy);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: o.region ?? 'us-east-1',
    bucket,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    dir,
    bytesReceived: () => received,
    resetCount: () => {
      received = 0;
    },
    failAfter: (bytes) =>
      new Promise<void>((resolve) => {
        trip = { at: received + bytes, fire: resolve };
      }),
    holdAfter: (bytes) =>
      new Promise<void>((resolve) => {
        hold = { at: received + bytes, fire: resolve };
      }),
    release: () => {
      held = false;
      for (const c of clients) c.resume();
    },
    isDown: () => down,
    recover: () => {
      down = false;
    },
    stop: async () => {
      down = true;
      cutAll();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
