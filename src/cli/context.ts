/**
 * What every client command shares: the connection flags and how they become a KubeClient
 * (`--kubeconfig`, then `$KUBECONFIG`, then the data dir's kubeconfig).
 */
import { KubeClient } from '../client/kube.js';
import { dataPaths, defaultDataDir } from '../platform/paths.js';

export const connectionOptions = {
  kubeconfig: { type: 'string' },
  'data-dir': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function loadClient(values: {
  kubeconfig?: string | undefined;
  'data-dir'?: string | undefined;
}): KubeClient {
  return KubeClient.load(values.kubeconfig, dataPaths(values['data-dir'] ?? defaultDataDir()).kubeconfig);
}
