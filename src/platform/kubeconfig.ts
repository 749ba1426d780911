/**
 * The admin kubeconfig written at start: kubectl, client-node and the hikube CLI all read it; the
 * same shape for a user's (`hikube user create`), with its name and tenant namespace.
 */
import { stringify } from 'yaml';

export function renderKubeconfig(
  server: string,
  caCert: string,
  token: string,
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
    users: [{ name: who.user, user: { token } }],
    contexts: [{ name: 'hikube', context: { cluster: 'hikube', user: who.user, namespace: who.namespace } }],
    'current-context': 'hikube',
    preferences: {},
  });
}
