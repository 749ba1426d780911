/**
 * Tenant network isolation on the policy compiler: the policies the tenant controller writes, run
 * through the NetworkPolicy model over VMs of nested tenants, `default` and the outside, against a
 * table of who may open a connection to whom.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkPolicy } from '../../../src/api/network/networkpolicy.js';
import { tenantNamespaceLabels } from '../../../src/controllers/tenant/compile.js';
import { SHARED_SERVICE_LABEL, tenantNetworkPolicies } from '../../../src/controllers/tenant/isolation.js';
import {
  computeVerdicts,
  permits,
  type Packet,
  type PolicyNamespace,
  type PolicyPod,
} from '../../../src/network/policy/model.js';

const POD_CIDR = '10.244.0.0/16';
const NODE = '10.244.0.1';
const tenants = ['tenant-root', 'tenant-acme', 'tenant-acme-dev', 'tenant-beta'];
const shared = { [SHARED_SERVICE_LABEL]: 'true' };

const vm = (namespace: string, name: string, ip: string, labels: Record<string, string> = {}): PolicyPod => ({
  namespace,
  name,
  labels,
  ip,
  ports: [],
});
const pods = [
  vm('tenant-root', 'root-vm', '10.244.0.10'),
  vm('tenant-root', 'root-shared', '10.244.0.11', shared),
  vm('tenant-acme', 'acme-1', '10.244.0.20'),
  vm('tenant-acme', 'acme-2', '10.244.0.21'),
  vm('tenant-acme', 'acme-shared', '10.244.0.22', shared),
  vm('tenant-acme-dev', 'dev-1', '10.244.0.30'),
  vm('tenant-beta', 'beta-1', '10.244.0.40'),
  vm('default', 'platform', '10.244.0.50'),
];
const namespaces: PolicyNamespace[] = [
  ...tenants.map((name) => ({ name, labels: tenantNamespaceLabels(name) })),
  { name: 'default', labels: {} },
];
const policies = tenants.flatMap((ns) => tenantNetworkPolicies(ns, POD_CIDR)) as unknown as NetworkPolicy[];
const ipOf = (name: string): string => pods.find((p) => p.name === name)?.ip ?? name;

describe('tenant isolation, as Cozystack isolates tenants (egress)', () => {
  const verdicts = computeVerdicts(policies, pods, namespaces);
  const table: [from: string, to: string, allowed: boolean, why: string][] = [
    ['acme-1', 'acme-2', true, 'a tenant’s VMs talk among themselves'],
    ['acme-1', 'beta-1', false, 'tenant A -> tenant B'],
    ['beta-1', 'acme-1', false, 'tenant B -> tenant A'],
    ['beta-1', 'acme-shared', false, 'another tenant’s shared service'],
    ['acme-1', 'dev-1', true, 'parent -> child'],
    ['root-vm', 'dev-1', true, 'root -> grandchild'],
    ['root-vm', 'beta-1', true, 'root -> child'],
    ['dev-1', 'acme-1', false, 'child -> parent, not shared'],
    ['dev-1', 'root-vm', false, 'grandchild -> root, not shared'],
    ['dev-1', 'acme-shared', true, 'child -> parent’s shared service'],
    ['dev-1', 'root-shared', true, 'grandchild -> root’s shared service'],
    ['acme-1', 'root-shared', true, 'child -> root’s shared service'],
    ['acme-1', 'platform', false, 'tenant -> default'],
    ['platform', 'acme-1', true, 'default is not isolated and reaches tenants'],
    ['platform', 'beta-1', true, 'default is not isolated and reaches tenants'],
    ['acme-1', NODE, true, 'the node: cluster DNS, what the host proxies'],
    ['acme-1', '8.8.8.8', true, 'the outside'],
    ['dev-1', '192.168.1.5', true, 'the outside'],
    ['acme-1', '10.244.9.9', false, 'an address of the pod network that is no tenant’s'],
  ];
  for (const [from, to, allowed, why] of table)
    test(`${from} -> ${to}: ${allowed ? 'allowed' : 'denied'} (${why})`, () => {
      for (const packet of [
        { src: ipOf(from), dst: ipOf(to), protocol: 'TCP', port: 22 },
        { src: ipOf(from), dst: ipOf(to), protocol: 'UDP', port: 53 },
      ] satisfies Packet[])
        assert.equal(permits(verdicts, [NODE], packet), allowed, JSON.stringify(packet));
    });

  test('DNS to the node passes from every tenant VM', () => {
    for (const pod of pods)
      assert.ok(permits(verdicts, [NODE], { src: pod.ip, dst: NODE, protocol: 'UDP', port: 53 }), pod.name);
  });

  test('one egress-only policy per tenant namespace; the root has no ancestor rule', () => {
    assert.deepEqual(
      tenantNetworkPolicies('tenant-root', POD_CIDR).map((p) => p['spec']),
      [
        {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            { to: [{ namespaceSelector: { matchLabels: { 'tenant.cozystack.io/tenant-root': '' } } }] },
            { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [POD_CIDR] } }] },
          ],
        },
      ],
    );
  });
});
