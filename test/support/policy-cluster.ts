/**
 * Objects for NetworkPolicy tests: namespaces with labels, VMIs on the pod network with a pod IP
 * in their status (as the pod network reports it), and policies, written into a Registry.
 */
import { namespaceKind } from '../../src/api/core/core.js';
import {
  virtualMachineInstanceKind as vmiKind,
  type VirtualMachineInstance,
} from '../../src/api/kubevirt/vmi.js';
import { networkPolicyKind, type NetworkPolicySpec } from '../../src/api/network/networkpolicy.js';
import type { Registry } from '../../src/apiserver/registry.js';

export function addNamespace(r: Registry, name: string, labels: Record<string, string> = {}): void {
  r.create(namespaceKind, '', { metadata: { name, labels } });
}

/** A running VMI whose pod interface (`default`) has `ip`, with named ports on that interface. */
export function addPodVmi(
  r: Registry,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  ip: string,
  ports: { name: string; port: number; protocol?: 'TCP' | 'UDP' }[] = [],
): void {
  const created = r.create(vmiKind, namespace, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, labels },
    spec: {
      domain: {
        devices: { interfaces: [{ name: 'default', masquerade: {}, ports }] },
        memory: { guest: '64Mi' },
      },
      networks: [{ name: 'default', pod: {} }],
    },
  }).object as VirtualMachineInstance;
  r.update(
    vmiKind,
    namespace,
    name,
    {
      ...created,
      status: { phase: 'Running', interfaces: [{ name: 'default', ipAddress: ip, ipAddresses: [ip] }] },
    },
    { subresource: 'status' },
  );
}

export function addPolicy(r: Registry, namespace: string, name: string, spec: NetworkPolicySpec): void {
  r.create(networkPolicyKind, namespace, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name },
    spec,
  });
}

export function deletePolicy(r: Registry, namespace: string, name: string): void {
  r.delete(networkPolicyKind, namespace, name);
}
