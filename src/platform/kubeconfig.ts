/**
 * The admin kubeconfig written at start: kubectl, client-node and the hikube CLI all read it; the
 * same shape for a user's (`hikube user create`), with its name and tenant namespace, holding a
 * token or a client certificate.
 */
import { stringify } from 'yaml';

/** A bearer token, or an x509 client certificate and its key (PEM). */
export type KubeCredential = string | { cert: string; key: string };

export function renderKubeconfig(
  server: string,
  caCert: string,
  credential: KubeCredential,
  who: { user: string; namespace: string } = { user: 'hikube-admin', namespace: 'default' },
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'hikube',
        cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') },
      },
    ],
    users: [{ name: who.user, user: userEntry(credential) }],
    contexts: [{ name: 'hikube', context: { cluster: 'hikube', user: who.user, namespace: who.namespace } }],
    'current-context': 'hikube',
    preferences: {},
  });
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
const userEntry = (c: KubeCredential): Record<string, string> =>
  typeof c === 'string'
    ? { token: c }
    : { 'client-certificate-data': b64(c.cert), 'client-key-data': b64(c.key) };
