/**
 * A TCP frontend: accepts on a loopback address and splices each connection to a backend chosen by
 * the backend set, half-close included (a client that shuts down its side still gets the answer).
 * A backend whose host forward refuses the connection (its QEMU is gone) is taken out at once and
 * the next one is tried, so a client never notices a dead VM that health checks have not caught yet.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { Backend, BackendSet } from './backends.js';

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

/**
 * QEMU listens for host forwards with a backlog of 1: under a burst of new connections the kernel
 * drops SYNs and the client's retransmission comes a second later. A connect to loopback that has
 * not completed within CONNECT_RETRY_MS was dropped: it is retried at once instead.
 */
export const CONNECT_RETRY_MS = 100;
const CONNECT_ATTEMPTS = 20;

/** Connects `client` to a backend, then relays both ways. */
function splice(client: Socket, set: BackendSet, tried: Set<string>): void {
  let upstream: Socket | undefined;
  let attempts = 0;
  let done = false;
  const fail = (): void => {
    done = true;
    if (!client.destroyed) client.resetAndDestroy();
  };
  const attempt = (): void => {
    if (client.destroyed || done) return;
    const chosen = set.pick(client.remoteAddress, tried);
    const target = chosen?.target;
    if (chosen === undefined || target === undefined || ++attempts > CONNECT_ATTEMPTS) return fail();
    const socket = connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    upstream = socket;
    let settled = false;
    /** The first outcome decides; later events are the relay's business. */
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(retry);
      return true;
    };
    const retry = setTimeout(() => {
      if (!settle()) return;
      socket.destroy();
      attempt();
    }, CONNECT_RETRY_MS);
    socket.once('connect', () => {
      if (settle()) relay(client, socket, chosen);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!settle()) return;
      if (err.code === 'ECONNREFUSED')
        chosen.refused(`its host forward refused a connection: ${err.message}`);
      tried.add(chosen.id);
      attempt();
    });
    socket.once('close', () => settle());
  };
  client.on('error', () => undefined);
  client.once('close', () => {
    if (upstream !== undefined && upstream.connecting) upstream.destroy();
  });
  attempt();
}

function relay(client: Socket, upstream: Socket, backend: Backend): void {
  backend.active++;
  upstream.once('close', () => backend.active--);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  // A side that goes away without ending (reset, or the listener closing) takes the other with it.
  client.once('close', () => {
    if (!upstream.writableEnded) upstream.destroy();
  });
  upstream.once('close', () => {
    if (!client.writableEnded) client.destroy();
  });
}
