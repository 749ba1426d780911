/**
 * `hikube vnc NAME`: a local TCP port for any VNC viewer, like `virtctl vnc --proxy-only`. Each
 * viewer connection gets its own WebSocket to the VMI's vnc subresource; RFB bytes pass through
 * unchanged. A VMI that is missing or not running is reported before anything listens.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import type { WebSocket } from 'ws';
import type { KubeClient } from '../client/kube.js';
import { openVmiStream, relay } from '../client/websocket.js';
import { connectionOptions, loadClient } from './context.js';
import { describeError, UsageError } from './errors.js';

export async function runVnc(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      port: { type: 'string', default: '0' },
      address: { type: 'string', default: '127.0.0.1' },
    },
  });
  const [name] = positionals;
  if (name === undefined) throw new UsageError('vnc needs a VMI name, e.g. `hikube vnc dev-vm`');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a TCP port number, not ${JSON.stringify(values.port)}`);
  const client = loadClient(values);
  const namespace = values.namespace ?? client.namespace;
  (await openVmiStream(client, namespace, name, 'vnc')).close(1000);

  const sessions = new Set<{ viewer: Socket; ws?: WebSocket }>();
  const server = createServer((viewer) => forward(client, namespace, name, viewer, sessions));
  const bound = await listen(server, port, values.address);
  const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  process.stdout.write(`VNC listening on ${host}:${bound.port}\n`);
  process.stderr.write(`Connect a viewer, e.g.: vncviewer ${host}::${bound.port}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  server.close();
  for (const { viewer, ws } of sessions) {
    ws?.terminate();
    viewer.destroy();
  }
}

function forward(
  client: KubeClient,
  namespace: string,
  name: string,
  viewer: Socket,
  sessions: Set<{ viewer: Socket; ws?: WebSocket }>,
): void {
  const session: { viewer: Socket; ws?: WebSocket } = { viewer };
  sessions.add(session);
  viewer.pause(); // a viewer talking before the server's greeting waits in the kernel buffer
  viewer.on('error', () => undefined); // a reset viewer just ends its session
  viewer.once('close', () => sessions.delete(session));
  openVmiStream(client, namespace, name, 'vnc').then(
    (ws) => {
      if (viewer.destroyed) {
        ws.close(1000);
        return;
      }
      session.ws = ws;
      relay(ws, viewer);
    },
    (err: unknown) => {
      process.stderr.write(`${describeError(err)}\n`);
      viewer.destroy();
    },
  );
}

function listen(server: Server, port: number, address: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      server.on('error', (err) => process.stderr.write(`error: VNC listener failed: ${err.message}\n`));
      resolve(server.address() as AddressInfo);
    });
  });
}
