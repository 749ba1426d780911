/**
 * The resource names a ResourceQuota may hold, and how their amounts read. Kept apart from the
 * kinds so that the admission check, the status controller, the printers and the tenant controller
 * agree on one spelling (`cpu` is `requests.cpu`, `count/services` is `services`…).
 */
import { formatBytes, formatCpu } from '../quantity.js';

/** Names kube-apiserver's quota knows without a prefix (v1.ResourceName constants). */
export const STANDARD_QUOTA_RESOURCES = new Set([
  'pods',
  'services',
  'services.loadbalancers',
  'services.nodeports',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'cpu',
  'memory',
  'storage',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.storage',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
]);

const QUALIFIED =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why `name` is not a quota resource name, or undefined when it is one. */
export function quotaNameProblem(name: string): string | undefined {
  if (STANDARD_QUOTA_RESOURCES.has(name)) return undefined;
  if (name.startsWith('count/')) {
    return /^count\/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/.test(name)
      ? undefined
      : 'must be count/<resource> or count/<resource>.<group>';
  }
  if (!QUALIFIED.test(name.replace(/^requests\./, '')))
    return 'must be a standard resource for quota or a qualified name';
  // Extended resources (GPUs…) are only quota'd as requests.<domain>/<name>, and storage by class.
  if (name.startsWith('requests.') && name.includes('/')) return undefined;
  if (/\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/.test(name))
    return undefined;
  if (name.startsWith('hugepages-') || name.startsWith('requests.hugepages-')) return undefined;
  return 'must be a standard resource for quota';
}

/** `cpu` and `requests.cpu` name one thing, as do `memory`, `storage` and their `requests.` forms. */
export function canonicalQuotaName(name: string): string {
  if (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage') return `requests.${name}`;
  if (name === 'storage') return 'requests.storage';
  if (name === 'services' || name === 'secrets' || name === 'configmaps') return name;
  if (name === 'count/services') return 'services';
  if (name === 'count/secrets') return 'secrets';
  if (name === 'count/configmaps') return 'configmaps';
  if (name === 'count/persistentvolumeclaims') return 'persistentvolumeclaims';
  if (name === 'count/resourcequotas') return 'resourcequotas';
  return name;
}

/** An amount as kube prints it in a quota: CPU as `500m`/`2`, bytes as `4Gi`, counts as integers. */
export function formatQuotaAmount(name: string, value: number): string {
  if (name.endsWith('cpu')) return formatCpu(Math.round(value * 1000) / 1000);
  if (/(memory|storage)$/.test(name) || name.includes('hugepages-')) return formatBytes(Math.ceil(value));
  return String(Math.round(value * 1000) / 1000);
}
