/**
 * WebSockets to KubeVirt's streaming subresources (console, vnc). Browsers cannot set an
 * Authorization header on a WebSocket, so the token rides in a subprotocol, as kube-apiserver accepts
 * it: `base64url.bearer.authorization.k8s.io.<token in unpadded base64url>`, next to
 * `plain.kubevirt.io` (raw bytes in binary frames), which the server picks.
 */
import { getToken } from '../auth/session';
import { subresourcePath } from './resources';

export const PLAIN_PROTOCOL = 'plain.kubevirt.io';
export const BEARER_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';

export function bearerProtocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  const b64 = btoa(String.fromCharCode(...bytes));
  return BEARER_PROTOCOL_PREFIX + b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function openVmiSocket(namespace: string, name: string, stream: 'console' | 'vnc'): WebSocket {
  const path = subresourcePath('virtualmachineinstances', namespace, name, stream);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
  const token = getToken();
  const ws = new WebSocket(
    url,
    token === undefined ? [PLAIN_PROTOCOL] : [PLAIN_PROTOCOL, bearerProtocol(token)],
  );
  ws.binaryType = 'arraybuffer';
  return ws;
}
