/**
 * Builds the pod network from the node's network options: the pod CIDR, the cluster DNS address
 * (the 10th address of the service CIDR, as Kubernetes clusters have it), and which VMs still exist
 * (a VM keeps its pod IP while it does, across restarts of its VMI).
 */
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import type { KubeObject } from '../../api/meta.js';
import type { Manager } from '../../runtime/manager.js';
import type { LinkTool } from '../links.js';
import type { ResolvedNetworkOptions } from '../options.js';
import type { PodLinks } from './links.js';
import { linuxPodLinks } from './linux.js';
import { PodNetwork } from './pod.js';
import { SysctlLedger } from '../host-sysctls.js';
import { otherPodPlatformsAlive } from './cidr-safety.js';

export function createPodNetwork(o: {
  /** VMs and VMIs are read from its cache. */
  manager: Manager;
  dataDir: string;
  options: ResolvedNetworkOptions;
  taps: LinkTool;
  podLinks?: PodLinks | undefined;
  log: (message: string) => void;
}): PodNetwork {
  o.manager.informer(virtualMachineKind);
  o.manager.informer(virtualMachineInstanceKind);
  const api = o.manager.client;
  const alive = (x: KubeObject | undefined): boolean =>
    x !== undefined && x.metadata.deletionTimestamp === undefined;
  return new PodNetwork({
    dataDir: o.dataDir,
    cidr: o.options.podCidr,
    dns: o.options.clusterDnsIp,
    links: o.podLinks ?? linuxPodLinks,
    taps: o.taps,
    ledger: new SysctlLedger(() => otherPodPlatformsAlive(o.dataDir)),
    vmExists: (namespace, name) =>
      alive(api.get(virtualMachineKind, namespace, name)) ||
      alive(api.get(virtualMachineInstanceKind, namespace, name)),
    log: o.log,
  });
}
