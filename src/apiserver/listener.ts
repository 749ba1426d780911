/**
 * The API server's one TLS port, speaking HTTP/2 (ALPN `h2`) with HTTP/1.1 as the fallback
 * (ALPN `http/1.1`, or a client offering no ALPN at all), as kube-apiserver does. A browser
 * multiplexes every request of all its console tabs over one HTTP/2 connection, so long-running
 * watches no longer use up its six HTTP/1.1 connections per host; kubectl (client-go) speaks HTTP/2
 * too. WebSocket upgrades (serial console, VNC, port-forward) arrive over HTTP/1.1, where clients
 * open them, and are handed over as sockets.
 *
 * Node's HTTP/2 server has no closeAllConnections(), so this module keeps its TLS connections
 * itself (upgraded ones included) and closes idle HTTP/2 sessions as the HTTP/1.1 keep-alive
 * timeout closes idle sockets.
 */
import type { IncomingMessage } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ApiRequest, ApiResponse } from './http.js';

/** How long a connection with no request in flight stays open (both protocols). */
export const IDLE_TIMEOUT_MS = 60_000;

/**
 * Streams one HTTP/2 connection may hold at once: every watch of every tab of a browser is one.
 * 250 is the default of Go's HTTP/2 server; Node's own would be 2^32-1.
 */
export const MAX_CONCURRENT_STREAMS = 250;

export interface ListenerOptions {
  key: string;
  cert: string;
  /** Every request, from either protocol (node's HTTP/2 compatibility API mirrors http's). */
  request: (req: ApiRequest, res: ApiResponse) => void;
  /** An HTTP/1.1 upgrade (WebSocket): the socket is the handler's from then on. */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The CA whose client certificates authenticate users; none asked for without it. */
  clientCa?: string;
  /** IDLE_TIMEOUT_MS unless told (tests). */
  idleTimeoutMs?: number;
}

export class Listener {
  private readonly server: Http2SecureServer;
  private readonly connections = new Set<TLSSocket>();

  constructor(options: ListenerOptions) {
    this.server = createSecureServer(
      {
        key: options.key,
        cert: options.cert,
        allowHTTP1: true,
        // Client certificates are asked for, never required: verified against the platform's CA
        // and read by the authenticator (auth/client-certs.ts); a bearer token works without one.
        ...(options.clientCa !== undefined
          ? { requestCert: true, rejectUnauthorized: false, ca: options.clientCa }
          : {}),
        settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
      },
      options.request,
    );
    const idleMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    // Read by the HTTP/1.1 fallback, as on an http.Server.
    (this.server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = idleMs;
    this.server.on('secureConnection', (socket: TLSSocket) => {
      // A reset must never crash the process, whoever owns the socket by then.
      socket.on('error', () => undefined);
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
    this.server.on('session', (session: Http2Session) => closeWhenIdle(session, idleMs));
    this.server.on('upgrade', options.upgrade);
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and ends every connection: requests in flight, watches and WebSockets. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.connections) socket.destroy();
    await closed;
  }
}

/**
 * Closes an HTTP/2 session (GOAWAY, then the socket) once it has been quiet for the idle timeout
 * with no stream open; a quiet watch keeps its connection.
 */
function closeWhenIdle(session: Http2Session, idleMs: number): void {
  let open = 0;
  session.on('stream', (stream: Duplex) => {
    open += 1;
    stream.once('close', () => {
      open -= 1;
      if (open === 0) session.setTimeout(idleMs); // the quiet starts now
    });
  });
  // Not setTimeout's callback: that one runs once, and a quiet watch may have used it up.
  session.on('timeout', () => {
    if (open === 0) session.close();
  });
  session.setTimeout(idleMs);
}
