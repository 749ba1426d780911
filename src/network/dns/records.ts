/**
 * What cluster DNS answers, by Kubernetes' DNS rules for Services, from the API objects as they
 * are now (so records change as soon as the cache does): `<svc>.<ns>.svc.<domain>` is the
 * Service's cluster IP, or for a headless Service the pod IPs of its ready VMIs;
 * `<hostname>.<subdomain>.<ns>.svc.<domain>` is the pod IP of the VMI with that spec.hostname and
 * spec.subdomain when a headless Service named `<subdomain>` exists in the namespace; an
 * ExternalName Service's name is an alias (CNAME) of its spec.externalName. Any other name in the
 * domain does not exist; names outside it are not ours (the server forwards them).
 */
import type { Service } from '../../api/core/service.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { backendsOf } from '../../controllers/service/endpoints.js';
import { podIpOf } from '../services/pods.js';

export const CLUSTER_DOMAIN = 'cluster.local';

export interface ClusterView {
  service(namespace: string, name: string): Service | undefined;
  vmis(namespace: string): VirtualMachineInstance[];
  /** The readiness probe's verdict on a VMI (undefined: it has none). */
  probeReady(uid: string): boolean | undefined;
}

/**
 * `undefined`: not a cluster name (forward it); `[]` with exists: a name without A records; `cname`:
 * an alias whose addresses are the target's (resolved by the server).
 */
export type Lookup =
  | undefined
  | { exists: false }
  | { exists: true; addresses: string[] }
  | { exists: true; addresses: []; cname: string };

const headless = (s: Service): boolean => s.spec?.clusterIP === 'None';

export function lookupClusterName(name: string, view: ClusterView, domain = CLUSTER_DOMAIN): Lookup {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n !== domain && !n.endsWith(`.${domain}`)) return undefined;
  const labels = n === domain ? [] : n.slice(0, -domain.length - 1).split('.');
  const missing: Lookup = { exists: false };
  if (labels.at(-1) !== 'svc') return missing;
  if (labels.length === 3) {
    const [svcName = '', ns = ''] = labels;
    const svc = view.service(ns, svcName);
    if (svc === undefined) return missing;
    if (svc.spec?.type === 'ExternalName') {
      const target = (svc.spec.externalName ?? '').toLowerCase().replace(/\.$/, '');
      return isDnsName(target) ? { exists: true, addresses: [], cname: target } : missing;
    }
    if (!headless(svc)) {
      const ip = svc.spec?.clusterIP;
      return ip === undefined || ip === '' ? missing : { exists: true, addresses: [ip] };
    }
    const ready = backendsOf(svc, view.vmis(ns), (uid) => view.probeReady(uid)).filter((b) => b.ready);
    return { exists: true, addresses: uniqueSorted(ready.map((b) => podIpOf(b.vmi))) };
  }
  if (labels.length === 4) {
    const [host = '', sub = '', ns = ''] = labels;
    const svc = view.service(ns, sub);
    if (svc === undefined || !headless(svc)) return missing;
    const vmis = view
      .vmis(ns)
      .filter(
        (v) =>
          (v.spec.hostname ?? '').toLowerCase() === host &&
          (v.spec.subdomain ?? '').toLowerCase() === sub &&
          v.status?.phase === 'Running',
      );
    const addresses = uniqueSorted(vmis.map(podIpOf));
    return addresses.length === 0 ? missing : { exists: true, addresses };
  }
  return missing;
}

/** A host name that fits the wire format: labels of 1–63 letters, digits or hyphens, ≤ 253 in all. */
export const isDnsName = (name: string): boolean =>
  name.length > 0 &&
  name.length <= 253 &&
  name.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));

const uniqueSorted = (ips: (string | undefined)[]): string[] =>
  [...new Set(ips.filter((x): x is string => x !== undefined))].sort();
