/**
 * The admin kubeconfig written at start: kubectl, client-node and the hikube CLI all read it.
 */
import { stringify } from 'yaml';

export function renderKubeconfig(server: string, caCert: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'hikube',
        cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') },
      },
    ],
    users: [{ name: 'hikube-admin', user: { token } }],
    contexts: [
      { name: 'hikube', context: { cluster: 'hikube', user: 'hikube-admin', namespace: 'default' } },
    ],
    'current-context': 'hikube',
    preferences: {},
  });
}
