/**
 * Network interfaces: model and MAC from the spec (the MAC prepared by the node agent when the spec
 * has none), host side from the backend the network component prepared. As in KubeVirt, a VMI that
 * lists no interfaces and no networks gets one masquerade interface named `default` on the pod
 * network, unless autoattachPodInterface is false.
 */
import type { Interface } from '../../api/kubevirt/domain.js';
import type { VirtualMachineInstanceSpec } from '../../api/kubevirt/vmi.js';
import type { Issues } from '../errors.js';
import type { MachineNic, NicBackend, NicModel } from '../machine.js';

export const DEFAULT_INTERFACE = 'default';
const MODELS: readonly string[] = ['virtio', 'e1000', 'e1000e', 'rtl8139'];
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export interface SpecInterface {
  iface: Interface;
  at: string;
}

/** The interfaces the guest gets; the network component prepares one backend for each. */
export function effectiveInterfaces(spec: VirtualMachineInstanceSpec, at = 'spec'): SpecInterface[] {
  const listed = spec.domain.devices.interfaces ?? [];
  if (
    listed.length === 0 &&
    (spec.networks ?? []).length === 0 &&
    spec.domain.devices.autoattachPodInterface !== false
  ) {
    return [{ iface: { name: DEFAULT_INTERFACE, masquerade: {} }, at: `${at}.domain.devices.interfaces` }];
  }
  return listed
    .map((iface, i) => ({ iface, at: `${at}.domain.devices.interfaces[${i}]` }))
    .filter(({ iface }) => iface.state !== 'absent');
}

export function configureNics(
  spec: VirtualMachineInstanceSpec,
  macs: Record<string, string>,
  backends: Record<string, NicBackend>,
  issues: Issues,
  at = 'spec',
): MachineNic[] {
  const nics: MachineNic[] = [];
  for (const { iface, at: path } of effectiveInterfaces(spec, at)) {
    const model = iface.model ?? 'virtio';
    if (!isModel(model)) {
      issues.error(
        `${path}.model`,
        `Unsupported value: ${JSON.stringify(model)}: supported values: "virtio", "e1000", "e1000e", "rtl8139"`,
        'FieldValueNotSupported',
      );
      continue;
    }
    const mac = macAddress(iface, macs, path, issues);
    const backend = backends[iface.name];
    if (backend === undefined) {
      issues.error(
        path,
        `Invalid value: ${JSON.stringify(iface.name)}: no network backend was prepared for this interface`,
      );
      continue;
    }
    if (mac === undefined) continue;
    const nic: MachineNic = { id: iface.name, mac, model, backend };
    if (iface.bootOrder !== undefined) nic.bootOrder = iface.bootOrder;
    nics.push(nic);
  }
  return nics;
}

function macAddress(
  iface: Interface,
  macs: Record<string, string>,
  at: string,
  issues: Issues,
): string | undefined {
  const raw = iface.macAddress ?? macs[iface.name];
  if (raw === undefined) {
    issues.error(
      `${at}.macAddress`,
      `Required value: interface ${JSON.stringify(iface.name)} has no MAC address in the spec and none was prepared`,
      'FieldValueRequired',
    );
    return undefined;
  }
  const mac = raw.toLowerCase().replaceAll('-', ':');
  if (!MAC.test(mac)) {
    issues.error(
      `${at}.macAddress`,
      `Invalid value: ${JSON.stringify(raw)}: must be a MAC address such as 02:00:00:00:00:01`,
    );
    return undefined;
  }
  return mac;
}

function isModel(model: string): model is NicModel {
  return MODELS.includes(model);
}
