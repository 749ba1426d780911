/**
 * Node ports and load balancer addresses that are the host's own (127.0.0.1, or an address of a
 * host interface) are DNATed in the output hook before any local socket sees the packet: a
 * Service on 127.0.0.1:6443 would silently take the API server's port from local clients. So the
 * kernel path holds a socket on every such frontend, as the user-space proxy listens on it: a port
 * another process has is refused (or, for a load balancer, moved to a free one, as the proxy does),
 * and no process can take it later. The sockets never see traffic (DNAT sends it to the pods).
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { L4 } from './ruleset.js';

export interface Reservation {
  port: number;
  close(): Promise<void>;
}

/** Holds address:port; undefined when the address is not the host's (nothing to take it from). */
export async function reservePort(
  protocol: L4,
  address: string,
  port: number,
  anyPortIfTaken: boolean,
): Promise<Reservation | undefined> {
  try {
    return await hold(protocol, address, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL') return undefined;
    if (code === 'EADDRINUSE' && anyPortIfTaken) return hold(protocol, address, 0);
    throw new Error(
      code === 'EADDRINUSE'
        ? `${address}:${port}/${protocol.toUpperCase()} is already in use on this host`
        : `cannot hold ${address}:${port}/${protocol.toUpperCase()}: ${(err as Error).message}`,
    );
  }
}

function hold(protocol: L4, address: string, port: number): Promise<Reservation> {
  return protocol === 'tcp' ? holdTcp(address, port) : holdUdp(address, port);
}

function holdTcp(address: string, port: number): Promise<Reservation> {
  const server: Server = createServer({ pauseOnConnect: true }, (s) => s.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      const got = server.address();
      resolve({
        port: typeof got === 'object' && got !== null ? got.port : port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function holdUdp(address: string, port: number): Promise<Reservation> {
  const socket: Socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve({
        port: socket.address().port,
        close: () => new Promise((done) => socket.close(() => done())),
      });
    });
  });
}
