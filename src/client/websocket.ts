/**
 * WebSocket connections to KubeVirt's streaming subresources (serial console, VNC), made with the
 * kubeconfig's server, CA and credentials like every other request of the CLI, so they work against
 * a real KubeVirt cluster as well as against hikube. A refusal arrives as a KubeApiError carrying the
 * server's Status, exactly like a failed REST call.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';
import type { Status } from '../api/meta.js';
import { KubeApiError, type KubeClient } from './kube.js';

/** The subprotocol KubeVirt's virt-api speaks: raw bytes in binary frames. */
export const PLAIN_PROTOCOL = 'plain.kubevirt.io';

export type VmiStream = 'console' | 'vnc' | `portforward/${number}` | `portforward/${number}/tcp`;

export function vmiStreamPath(namespace: string, name: string, stream: VmiStream): string {
  const ns = encodeURIComponent(namespace);
  return `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${encodeURIComponent(name)}/${stream}`;
}

/** Opens the stream; resolves once the handshake is done, rejects with the server's Status otherwise. */
export async function openVmiStream(
  client: KubeClient,
  namespace: string,
  name: string,
  stream: VmiStream,
): Promise<WebSocket> {
  const url = new URL(vmiStreamPath(namespace, name, stream), client.server);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  const options = await client.connectionOptions();
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, [PLAIN_PROTOCOL], { ...options, perMessageDeflate: false });
    // Stays attached: after the handshake errors surface as 'close', which every caller handles.
    ws.on('error', (err) =>
      reject(new Error(`failed connecting to the ${stream} of ${namespace}/${name}: ${err.message}`)),
    );
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      readStatus(res).then(
        (err) => {
          reject(err);
          ws.terminate();
        },
        (err: unknown) => {
          reject(err instanceof Error ? err : new Error(String(err)));
          ws.terminate();
        },
      );
    });
  });
}

async function readStatus(res: IncomingMessage): Promise<KubeApiError> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const code = res.statusCode ?? 0;
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    status = parsed.kind === 'Status' ? (parsed as Status) : undefined;
  } catch {
    status = undefined;
  }
  return new KubeApiError(
    code,
    status,
    status?.message ?? `the server answered ${code}: ${body.slice(0, 200)}`,
  );
}

/**
 * Relays a local byte stream (a VNC viewer's TCP connection) over an open WebSocket, both ways.
 * Either side going away closes the other.
 */
export function relay(ws: WebSocket, local: Duplex): void {
  const remote = createWebSocketStream(ws);
  remote.on('error', () => local.destroy());
  local.on('error', () => remote.destroy());
  local.pipe(remote); // the viewer hanging up ends the WebSocket
  remote.pipe(local); // the server closing ends the viewer's connection
  local.once('close', () => {
    if (ws.readyState === ws.OPEN) remote.end(); // a viewer reset rather than ended
  });
  ws.once('close', () => local.end(() => local.destroy()));
}
