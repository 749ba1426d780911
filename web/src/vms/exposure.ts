/**
 * A VM on the network, read through the API: its interfaces (from the template) with what the
 * VMI reports of each (MAC, IPs), the Services whose selector matches it, and the Service that
 * "Expose a port" creates, built as `hikube expose vm` (and `virtctl expose`) builds it.
 */
import type { Service, ServiceType, VirtualMachine, VirtualMachineInstance } from '../api/types.js';
import { nameOf, namespaceOf } from './selectors.js';

/** The label KubeVirt's VM controller puts on every VMI it creates, naming its VM. */
export const VM_NAME_LABEL = 'vm.kubevirt.io/name';

export interface InterfaceRow {
  name: string;
  network: string;
  binding: string;
  model: string;
  mac: string;
  ips: string[];
  guestName: string;
}

export function interfaceRows(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): InterfaceRow[] {
  const spec = vm.spec.template.spec;
  const networks = spec?.networks ?? [];
  let ifaces = spec?.domain.devices.interfaces ?? [];
  // KubeVirt attaches a masquerade interface on the pod network when none is listed.
  if (ifaces.length === 0 && spec?.domain.devices.autoattachPodInterface !== false)
    ifaces = [{ name: 'default', masquerade: {} }];
  return ifaces.map((i) => {
    const net = networks.find((n) => n.name === i.name);
    const status = vmi?.status?.interfaces?.find((s) => s.name === i.name);
    const binding =
      (['masquerade', 'bridge', 'sriov', 'passt'] as const).find((b) => i[b] !== undefined) ??
      i.binding?.name ??
      '';
    return {
      name: i.name,
      network:
        net?.multus !== undefined
          ? `${net.multus.networkName} (Multus)`
          : net?.pod !== undefined || i.name === 'default'
            ? 'Pod network'
            : '',
      binding,
      model: i.model ?? 'virtio',
      mac: status?.mac ?? i.macAddress ?? '',
      ips: status?.ipAddresses ?? (status?.ipAddress !== undefined ? [status.ipAddress] : []),
      guestName: status?.interfaceName ?? '',
    };
  });
}

/** The labels a Service selects this VM by: its VMI's, else those its template gives the VMI. */
export function labelsOf(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
): Record<string, string> {
  return {
    [VM_NAME_LABEL]: nameOf(vm),
    ...(vm.spec.template.metadata?.labels ?? {}),
    ...(vmi?.metadata.labels ?? {}),
  };
}

/** Services in the VM's namespace whose (non-empty) selector matches the VM. */
export function servicesOf(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  services: readonly Service[],
): Service[] {
  const labels = labelsOf(vm, vmi);
  return services.filter((s) => {
    const selector = Object.entries(s.spec?.selector ?? {});
    return (
      namespaceOf(s) === namespaceOf(vm) && selector.length > 0 && selector.every(([k, v]) => labels[k] === v)
    );
  });
}

/** "80→8080/TCP", with the node port when there is one. */
export const portsText = (s: Service): string[] =>
  (s.spec?.ports ?? []).map(
    (p) =>
      `${p.port}${p.targetPort !== undefined && String(p.targetPort) !== String(p.port) ? `→${p.targetPort}` : ''}/${p.protocol ?? 'TCP'}${p.nodePort !== undefined ? ` (node ${p.nodePort})` : ''}`,
  );

/** The load balancer's addresses with the ports it listens on there. */
export const loadBalancerText = (s: Service): string[] =>
  (s.status?.loadBalancer?.ingress ?? []).map((i) => {
    const ports = (i.ports ?? []).map(
      (p) => `${p.port}/${p.protocol}${p.error !== undefined ? ` (${p.error})` : ''}`,
    );
    return `${i.ip ?? i.hostname ?? ''}${ports.length > 0 ? ` ${ports.join(', ')}` : ''}`;
  });

export interface ExposeForm {
  name: string;
  port: string;
  targetPort: string;
  type: ServiceType;
  protocol: 'TCP' | 'UDP';
}

/** The Service `hikube expose vm NAME --port …` would create: the selector is the template's labels. */
export function exposeService(vm: VirtualMachine, form: ExposeForm): Service {
  const template = vm.spec.template.metadata?.labels;
  const selector =
    template !== undefined && Object.keys(template).length > 0 ? template : { [VM_NAME_LABEL]: nameOf(vm) };
  const port = Number(form.port);
  const target = form.targetPort.trim();
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: form.name, namespace: namespaceOf(vm) },
    spec: {
      type: form.type,
      selector,
      ports: [
        {
          // Numbers the server checks; text that is not a number goes as is, for it to say why.
          port: Number.isInteger(port) ? port : (form.port as unknown as number),
          targetPort: target === '' ? port : /^\d+$/.test(target) ? Number(target) : target,
          protocol: form.protocol,
        },
      ],
    },
  };
}
