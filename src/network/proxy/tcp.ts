/**
 * A TCP frontend: accepts on a loopback address and splices each connection to a backend chosen by
 * the backend set, half-close included (a client that shuts down its side still gets the answer).
 * A backend whose host forward refuses the connection (its QEMU is gone) is taken out at once and
 * the next one is tried, so a client never notices a dead VM that health checks have not caught yet.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { BackendSet } from './backends.js';

export interface Listening {
  address: string;
  port: number;
  close(): Promise<void>;
}

export function listenTcp(address: string, port: number, backends: () => BackendSet): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    splice(client, backends(), new Set());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      const addr = server.address();
      resolve({
        address,
        port: typeof addr === 'object' && addr !== null ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function splice(client: Socket, set: BackendSet, tried: Set<string>): void {
  if (client.destroyed) return;
  const backend = set.pick(client.remoteAddress, tried);
  if (backend?.target === undefined) {
    client.resetAndDestroy();
    return;
  }
  const upstream = connect({
    host: backend.target.host,
    port: backend.target.port,
    noDelay: true,
    allowHalfOpen: true,
  });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    backend.active++;
    upstream.once('close', () => backend.active--);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) {
      if (err.code === 'ECONNREFUSED')
        backend.refused(`its host forward refused a connection: ${err.message}`);
      tried.add(backend.id);
      splice(client, set, tried);
      return;
    }
    client.destroy();
  });
  client.on('error', () => upstream.destroy());
}
