/**
 * KubeVirt's streaming subresources: `GET …/virtualmachineinstances/NAME/console` (the serial
 * console) and `…/vnc` (the framebuffer as RFB bytes), upgraded to WebSockets. The API server only
 * relays bytes: the node agent owns the guest's sockets and hands over one byte stream per
 * connection through the GuestStreams port. A refusal (no such VMI, VMI not running) is decided
 * before the handshake, so clients read a Status with 404/409 instead of a socket that closes at once.
 */
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { ApiError } from './errors.js';
import type { Subresource, UpgradeRequest } from './subresources.js';

/** The subprotocol virtctl asks for: raw bytes in binary frames, no channel prefix. */
export const PLAIN_PROTOCOL = 'plain.kubevirt.io';

/** How long a guest stream may take to drain the client's last bytes before it is destroyed. */
const RELEASE_GRACE_MS = 5_000;

/** Thrown by a GuestStreams implementation that cannot give a stream for this VMI. */
export class StreamUnavailable extends Error {
  override readonly name = 'StreamUnavailable';
  constructor(
    /** NotFound: no such VMI. Conflict: it exists but is not running (yet, or any more). */
    readonly reason: 'NotFound' | 'Conflict',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The guest's byte streams, implemented by the node agent. Each call returns a new Duplex for one
 * client connection, which the caller owns: it ends the Duplex when the client leaves and destroys
 * it afterwards. Ending or destroying the Duplex from the agent's side disconnects the client.
 */
export interface GuestStreams {
  /** The guest's serial console: bytes written are typed into it, bytes read are what it prints. */
  serial(namespace: string, name: string): Promise<Duplex>;
  /** The guest's VNC server: an RFB stream, starting with the server's `RFB 003.008\n` greeting. */
  vnc(namespace: string, name: string): Promise<Duplex>;
  /** A TCP connection to `port` inside the guest (KubeVirt's portforward subresource). */
  portForward?(namespace: string, name: string, port: number): Promise<Duplex>;
}

export interface StreamOptions {
  /** Where failures of established streams are reported; they never reach the client as a Status. */
  log?: (message: string) => void;
}

type Open = (namespace: string, name: string, args: string[]) => Promise<Duplex>;

export function streamSubresources(streams: GuestStreams, options: StreamOptions = {}): Subresource[] {
  const log = options.log ?? (() => undefined);
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // Clients that offer no subprotocol are accepted too, as KubeVirt's virt-api does.
    handleProtocols: (offered) => (offered.has(PLAIN_PROTOCOL) ? PLAIN_PROTOCOL : false),
  });
  const stream = (name: 'console' | 'vnc' | 'portforward', open: Open): Subresource => ({
    group: 'subresources.kubevirt.io',
    version: 'v1',
    resource: 'virtualmachineinstances',
    name,
    ...(name === 'portforward' ? { maxArgs: 2 } : {}),
    upgrade: (request) =>
      upgrade(wss, request, open, (message) =>
        log(`${name} of virtualmachineinstance ${request.namespace}/${request.name}: ${message}`),
      ),
  });
  const subs = [
    stream('console', (namespace, name) => streams.serial(namespace, name)),
    stream('vnc', (namespace, name) => streams.vnc(namespace, name)),
  ];
  const forward = streams.portForward?.bind(streams);
  if (forward !== undefined) {
    subs.push(
      stream('portforward', (namespace, name, args) => {
        const [portText = '', protocol = 'tcp'] = args;
        const port = Number(portText);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          return Promise.reject(
            new ApiError(
              'BadRequest',
              `portforward needs a port between 1 and 65535, not ${JSON.stringify(portText)}`,
            ),
          );
        }
        if (protocol !== 'tcp')
          return Promise.reject(
            new ApiError('BadRequest', `portforward supports tcp only, not ${JSON.stringify(protocol)}`),
          );
        return forward(namespace, name, port);
      }),
    );
  }
  return subs;
}

async function upgrade(
  wss: WebSocketServer,
  request: UpgradeRequest,
  open: Open,
  log: (message: string) => void,
): Promise<void> {
  const { req, socket, head } = request;
  // The HTTP server dropped its own listeners when it handed the socket over: a reset while the
  // node agent answers must not become an unhandled 'error'.
  const onSocketError = (err: Error): void => log(`connection failed: ${err.message}`);
  socket.on('error', onSocketError);
  let guest: Duplex;
  try {
    guest = await open(request.namespace, request.name, request.args);
  } catch (err) {
    throw refusal(err, request.name);
  }
  guest.on('error', (err) => log(`guest stream failed: ${err.message}`));
  if (socket.destroyed) {
    release(guest);
    return;
  }
  // ws answers a malformed handshake itself (400) and destroys the socket without calling back.
  const abandoned = (): void => release(guest);
  socket.once('close', abandoned);
  wss.handleUpgrade(req, socket, head, (ws) => {
    socket.off('close', abandoned);
    socket.off('error', onSocketError); // ws has its own now
    splice(ws, guest, log);
  });
}

/** Bytes both ways, binary frames out; either side going away closes the other. */
function splice(ws: WebSocket, guest: Duplex, log: (message: string) => void): void {
  const client = createWebSocketStream(ws);
  client.on('error', (err) => log(`client connection failed: ${err.message}`));
  ws.on('error', () => undefined); // reported through the stream above; 'close' always follows
  guest.pipe(client); // the guest's end flushes what it printed, then closes the WebSocket
  client.pipe(guest); // the WebSocket's close ends the guest's input
  guest.once('close', () => {
    if (ws.readyState !== ws.OPEN) return;
    if (guest.errored !== null) ws.close(1011, 'the guest stream failed');
    else client.end(); // a guest destroyed rather than ended
  });
  ws.once('close', () => release(guest));
}

/** Lets the guest take the client's last bytes, then frees it; a stuck guest is destroyed anyway. */
function release(guest: Duplex): void {
  if (guest.destroyed) return;
  const timer = setTimeout(() => guest.destroy(), RELEASE_GRACE_MS).unref();
  guest.end(() => {
    clearTimeout(timer);
    guest.destroy();
  });
}

/** StreamUnavailable → the Status KubeVirt's virt-api answers; anything else stays an internal error. */
function refusal(err: unknown, name: string): unknown {
  if (!(err instanceof StreamUnavailable)) return err;
  const what = `virtualmachineinstance.kubevirt.io "${name}"`;
  const details = { name, group: 'kubevirt.io', kind: 'virtualmachineinstance' };
  return err.reason === 'NotFound'
    ? new ApiError('NotFound', `${what} not found`, details)
    : new ApiError('Conflict', `Operation cannot be fulfilled on ${what}: ${err.message}`, details);
}
