/**
 * Where a VMI is reached on the pod network: its pod IP, as the pod network reports it in
 * `status.interfaces` (the entry named like the pod network's interface carries `ipAddress`).
 * PodForwards answers the proxy's, prober's and health checks' "where is port P of this guest"
 * with POD_IP:P — the pod network's counterpart of QEMU host forwards.
 */
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { parseCidr, parseIpv4, formatIpv4 } from '../../api/network/cni.js';
import { podInterfaceName } from '../default.js';
import { ForwardError, type GuestForwards, type HostPort, type Protocol } from '../forwards.js';

/**
 * The VMI's pod IP, or undefined until the pod network has given it one. Only a dotted IPv4
 * address comes back, written anew: the value goes into nftables rules and DNS answers, and a
 * status is an API field someone could have written anything into.
 */
export function podIpOf(vmi: VirtualMachineInstance): string | undefined {
  const name = podInterfaceName(vmi);
  if (name === undefined) return undefined;
  const ip = vmi.status?.interfaces?.find((i) => i.name === name)?.ipAddress;
  const n = typeof ip === 'string' ? parseIpv4(ip) : undefined;
  return n === undefined || formatIpv4(n) !== ip ? undefined : formatIpv4(n);
}

/** The pod network's gateway: the first address of the pod CIDR (10.244.0.1). */
export function podGateway(podCidr: string): string {
  const cidr = parseCidr(podCidr);
  if (cidr === undefined) throw new Error(`pod CIDR ${JSON.stringify(podCidr)} is not an IPv4 CIDR`);
  return formatIpv4(cidr.network + 1);
}

export class PodForwards implements GuestForwards {
  constructor(private readonly vmis: () => VirtualMachineInstance[]) {}

  forward(uid: string, _protocol: Protocol, port: number): Promise<HostPort> {
    const vmi = this.vmis().find((v) => v.metadata.uid === uid);
    const ip = vmi === undefined ? undefined : podIpOf(vmi);
    if (ip === undefined)
      return Promise.reject(new ForwardError(`guest ${uid} has no pod IP (yet) in status.interfaces`));
    return Promise.resolve({ host: ip, port });
  }
}
