/**
 * A tenant's network isolation as NetworkPolicies, following Cozystack's tenant chart (which writes
 * Cilium policies): isolation is enforced on egress only, so each tenant namespace gets one policy
 * selecting all its VMs that lets them send to
 * - their own namespace and every descendant tenant's (namespaces carrying the tenant's
 *   `tenant.cozystack.io/<namespace>` label: so ancestors reach their descendants),
 * - the shared services of their ancestor tenants (VMs labelled `policy.hikube.io/shared=true` in an
 *   ancestor's namespace), and nothing else of an ancestor,
 * - the outside: every IPv4 address but the pod network's.
 * What a tenant does not isolate: the node's own addresses always pass (cluster DNS, answered on the
 * node, and what the host proxies: LoadBalancer and NodePort traffic), and ingress is open, so
 * `default` and other non-tenant namespaces (the platform's, without policies) reach every tenant,
 * while tenants do not reach them.
 */
import type { KubeObject } from '../../api/meta.js';
import { tenantLineage } from '../../api/cozystack/tenant.js';
import { NAMESPACE_NAME_LABEL } from '../../network/policy/model.js';
import { ANCESTOR_LABEL_PREFIX } from './compile.js';

export const TENANT_ISOLATION_POLICY = 'tenant-isolation';
/** On a VM (its pod) in a tenant namespace: descendant tenants may reach it. */
export const SHARED_SERVICE_LABEL = 'policy.hikube.io/shared';

/** The NetworkPolicies of tenant namespace `namespace`; `podCidr` is the pod network's block. */
export function tenantNetworkPolicies(namespace: string, podCidr: string): KubeObject[] {
  const ancestors = tenantLineage(namespace).filter((ns) => ns !== namespace);
  const egress: Record<string, unknown>[] = [
    {
      to: [{ namespaceSelector: { matchLabels: { [`${ANCESTOR_LABEL_PREFIX}${namespace}`]: '' } } }],
    },
    { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [podCidr] } }] },
  ];
  if (ancestors.length > 0)
    egress.push({
      to: ancestors.map((ns) => ({
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } },
        podSelector: { matchLabels: { [SHARED_SERVICE_LABEL]: 'true' } },
      })),
    });
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: TENANT_ISOLATION_POLICY, namespace },
      spec: { podSelector: {}, policyTypes: ['Egress'], egress },
    },
  ];
}
