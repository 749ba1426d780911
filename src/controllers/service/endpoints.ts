/**
 * The backends of a Service, computed from the VMIs its selector matches: which ones take traffic
 * (Running, Ready, not paused, not terminating, readiness probe passing), where each one's target
 * port is (a number, or a named port of the VMI's interface), and the EndpointSlice that shows it.
 * Pure: the controller reads the store, this decides, the controller writes.
 */
import { createHash } from 'node:crypto';
import { SERVICE_NAME_LABEL, type Service, type ServicePort } from '../../api/core/service.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import type { Endpoint, EndpointSlice } from '../../api/network/endpointslice.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { effectiveInterfaces } from '../../hypervisor/configurators/nics.js';
import { DEFAULT_GUEST_ADDRESS, podInterfaceName } from '../../network/default.js';

export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'service-controller.hikube.io';

export interface ServiceBackend {
  vmi: VirtualMachineInstance;
  uid: string;
  name: string;
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** Guest port per service port name (absent: the VMI has no port of that name). */
  ports: Record<string, number>;
}

/** The name of a service port as the proxy keys it: its name, or its index when it has none. */
export const portKey = (p: ServicePort, i: number): string => p.name ?? String(i);

/** Named ports of the VMI's default-network interface (spec.domain.devices.interfaces[].ports). */
export function namedPorts(vmi: VirtualMachineInstance): Record<string, number> {
  const pod = podInterfaceName(vmi);
  const out: Record<string, number> = {};
  for (const { iface } of effectiveInterfaces(vmi.spec))
    if (iface.name === pod) for (const p of iface.ports ?? []) if (p.name !== undefined) out[p.name] = p.port;
  return out;
}

/**
 * The VMIs behind `svc` with their state; `probeReady(uid)` is the readiness probe's verdict
 * (undefined when the VMI has none).
 */
export function backendsOf(
  svc: Service,
  vmis: VirtualMachineInstance[],
  probeReady: (uid: string) => boolean | undefined,
): ServiceBackend[] {
  const selector = svc.spec?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return [];
  const match = labelSelectorFromObject({ matchLabels: selector });
  const out: ServiceBackend[] = [];
  for (const vmi of vmis) {
    if (vmi.metadata.namespace !== svc.metadata.namespace || !match.matches(vmi.metadata.labels)) continue;
    if (vmi.status?.phase !== 'Running') continue;
    const pod = podInterfaceName(vmi);
    if (pod === undefined) continue;
    const uid = vmi.metadata.uid ?? '';
    const conditions = vmi.status.conditions ?? [];
    const vmiReady = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    const paused = conditions.some((c) => c.type === 'Paused' && c.status === 'True');
    const terminating = vmi.metadata.deletionTimestamp !== undefined;
    const serving = vmiReady && !paused && probeReady(uid) !== false;
    const named = namedPorts(vmi);
    const ports: Record<string, number> = {};
    (svc.spec?.ports ?? []).forEach((p, i) => {
      const target = p.targetPort ?? p.port;
      const n = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : named[target];
      if (n !== undefined) ports[portKey(p, i)] = n;
    });
    const address = vmi.status.interfaces?.find((x) => x.name === pod)?.ipAddress ?? DEFAULT_GUEST_ADDRESS;
    out.push({
      vmi,
      uid,
      name: vmi.metadata.name ?? '',
      address,
      ready: serving && !terminating,
      serving,
      terminating,
      ports,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function sliceName(svc: Service): string {
  const h = createHash('sha256')
    .update(svc.metadata.uid ?? '')
    .digest('hex')
    .slice(0, 5);
  return `${(svc.metadata.name ?? '').slice(0, 56)}-${h}`;
}

/** The EndpointSlice of `svc` (one per service: the VMIs of one node fit in one slice). */
export function endpointSliceFor(svc: Service, backends: ServiceBackend[], nodeName: string): EndpointSlice {
  const ports = (svc.spec?.ports ?? []).map((p, i) => {
    const key = portKey(p, i);
    const resolved = backends.find((b) => b.ports[key] !== undefined)?.ports[key];
    return {
      ...(p.name !== undefined ? { name: p.name } : { name: '' }),
      protocol: p.protocol ?? 'TCP',
      ...(resolved !== undefined ? { port: resolved } : {}),
    };
  });
  const endpoints: Endpoint[] = backends.map((b) => ({
    addresses: [b.address],
    conditions: { ready: b.ready, serving: b.serving, terminating: b.terminating },
    targetRef: {
      kind: 'VirtualMachineInstance',
      apiVersion: 'kubevirt.io/v1',
      namespace: b.vmi.metadata.namespace ?? '',
      name: b.name,
      uid: b.uid,
    },
    nodeName: b.vmi.status?.nodeName ?? nodeName,
  }));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(svc),
      namespace: svc.metadata.namespace ?? '',
      labels: { [SERVICE_NAME_LABEL]: svc.metadata.name ?? '', [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: svc.metadata.name ?? '',
          uid: svc.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}
