/**
 * A real TLS API server serving the console and vnc subresources over fake guests: an echoing
 * serial console and an RFB server that greets like QEMU's. The fakes record what they were sent
 * and whether they were released, so tests can assert both ends of the pipe.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { kinds } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiServer, type ApiServerOptions } from '../../../src/apiserver/server.js';
import { StreamUnavailable, streamSubresources, type GuestStreams } from '../../../src/apiserver/streams.js';
import { ensureServingCerts } from '../../../src/apiserver/tls.js';
import { renderKubeconfig } from '../../../src/platform/kubeconfig.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

export const RFB_GREETING = 'RFB 003.008\n';

/** One guest-side stream: records every byte the client sent; `greeting` is sent first, `echo` echoes. */
export class FakeGuestStream extends Duplex {
  private readonly chunks: Buffer[] = [];

  constructor(
    readonly kind: 'serial' | 'vnc',
    private readonly echo: boolean,
    greeting?: string,
  ) {
    super();
    if (greeting !== undefined) this.push(Buffer.from(greeting));
  }

  get received(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.echo) this.push(chunk);
    callback();
  }

  override _read(): void {}

  /** The guest side printing something by itself. */
  print(text: string): void {
    this.push(Buffer.from(text));
  }
}

export type VmiPhase = 'Running' | 'Scheduling';

export class FakeGuests implements GuestStreams {
  readonly vmis = new Map<string, VmiPhase>();
  readonly opened: FakeGuestStream[] = [];

  serial(namespace: string, name: string): Promise<Duplex> {
    return this.open(namespace, name, () => new FakeGuestStream('serial', true));
  }

  vnc(namespace: string, name: string): Promise<Duplex> {
    return this.open(namespace, name, () => new FakeGuestStream('vnc', false, RFB_GREETING));
  }

  private open(namespace: string, name: string, make: () => FakeGuestStream): Promise<Duplex> {
    const phase = this.vmis.get(`${namespace}/${name}`);
    if (phase === undefined) return Promise.reject(new StreamUnavailable('NotFound', `no VMI ${name}`));
    if (phase !== 'Running') return Promise.reject(new StreamUnavailable('Conflict', 'VMI is not running'));
    const stream = make();
    this.opened.push(stream);
    return Promise.resolve(stream);
  }

  last(kind: 'serial' | 'vnc'): FakeGuestStream | undefined {
    return this.opened.filter((s) => s.kind === kind).at(-1);
  }
}

export interface StreamServer {
  url: string;
  token: string;
  caCert: string;
  kubeconfigPath: string;
  guests: FakeGuests;
  logs: string[];
  /** Opens a WebSocket to a VMI stream; `token: null` sends no credentials. */
  connect(path: string, token?: string | null): Promise<Connected>;
  close(): Promise<void>;
}

export type Connected =
  { ws: WebSocket; protocol: string } | { ws?: undefined; code: number; body: Record<string, unknown> };

export const consolePath = (name: string, namespace = 'default'): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${namespace}/virtualmachineinstances/${name}/console`;

export async function startStreamServer(
  options: Pick<ApiServerOptions, 'observe'> = {},
): Promise<StreamServer> {
  const dir = await mkdtemp(join(tmpdir(), 'hikube-streams-'));
  const certs = await ensureServingCerts(join(dir, 'pki'), ['127.0.0.1']);
  const token = randomBytes(24).toString('base64url');
  const store = new SqliteStore({ path: join(dir, 'state.db') });
  const guests = new FakeGuests();
  const logs: string[] = [];
  const server = new ApiServer({
    registry: new Registry(store),
    kinds,
    certs,
    tokens: [token],
    subresources: streamSubresources(guests, { log: (m) => logs.push(m) }),
    ...options,
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, renderKubeconfig(url, certs.caCert, token), { mode: 0o600 });
  const sockets = new Set<WebSocket>();
  return {
    url,
    token,
    caCert: certs.caCert,
    kubeconfigPath,
    guests,
    logs,
    connect(path, as = token) {
      return new Promise<Connected>((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, ['plain.kubevirt.io'], {
          ca: certs.caCert,
          headers: as === null ? {} : { Authorization: `Bearer ${as}` },
        });
        sockets.add(ws);
        ws.once('close', () => sockets.delete(ws));
        ws.on('error', reject);
        ws.once('open', () => resolve({ ws, protocol: ws.protocol }));
        ws.once('unexpected-response', (_req, res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            resolve({
              code: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString()) as never,
            });
            ws.terminate();
          });
        });
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await server.close();
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
