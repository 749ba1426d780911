/**
 * A UDP frontend: each client (address and port) gets a session bound to one backend, with its own
 * upstream socket so that answers find their way back; sessions end after an idle timeout, or when
 * their backend leaves the set.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Backend, BackendSet } from './backends.js';
import type { Listening } from './tcp.js';

export const UDP_IDLE_MS = 30_000;

interface Session {
  upstream: Socket;
  backend: Backend;
  timer: NodeJS.Timeout;
}

export function listenUdp(
  address: string,
  port: number,
  backends: () => BackendSet,
  idleMs = UDP_IDLE_MS,
): Promise<Listening> {
  const sessions = new Map<string, Session>();
  const socket = createSocket({ type: 'udp4' });
  const end = (key: string): void => {
    const s = sessions.get(key);
    if (s === undefined) return;
    sessions.delete(key);
    clearTimeout(s.timer);
    s.backend.active--;
    s.upstream.close();
  };
  const open = (key: string, client: { address: string; port: number }): Session | undefined => {
    const backend = backends().pick(client.address);
    if (backend?.target === undefined) return undefined;
    const upstream = createSocket({ type: 'udp4' });
    upstream.on('message', (msg) => {
      const s = sessions.get(key);
      if (s !== undefined) s.timer.refresh();
      socket.send(msg, client.port, client.address);
    });
    upstream.on('error', () => end(key));
    upstream.connect(backend.target.port, backend.target.host);
    backend.active++;
    const timer = setTimeout(() => end(key), idleMs);
    timer.unref();
    const session = { upstream, backend, timer };
    sessions.set(key, session);
    return session;
  };
  socket.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = sessions.get(key);
    if (s !== undefined && !backends().has(s.backend.id)) {
      end(key);
      s = undefined;
    }
    s ??= open(key, rinfo);
    if (s === undefined) return;
    s.timer.refresh();
    const session = s;
    const send = (): void => session.upstream.send(msg, (err) => err !== null && end(key));
    // connect() is asynchronous; the first datagram waits for it.
    try {
      send();
    } catch {
      session.upstream.once('connect', send);
    }
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({
        address,
        port: socket.address().port,
        close: () =>
          new Promise<void>((done) => {
            for (const key of [...sessions.keys()]) end(key);
            socket.close(() => done());
          }),
      });
    });
  });
}
