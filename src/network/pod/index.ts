/**
 * Builds the pod network from the node's network options: the pod CIDR, the cluster DNS address
 * (the 10th address of the service CIDR, as Kubernetes clusters have it), and which VMs still exist
 * (a VM keeps its pod IP while it does, across restarts of its VMI).
 */
import { formatIpv4 } from '../../api/network/cni.js';
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import type { KubeObject } from '../../api/meta.js';
import type { ApiClient } from '../../runtime/registry-client.js';
import type { LinkTool } from '../links.js';
import type { ResolvedNetworkOptions } from '../options.js';
import type { PodLinks } from './links.js';
import { linuxPodLinks } from './linux.js';
import { PodNetwork } from './pod.js';

export function createPodNetwork(o: {
  api: ApiClient;
  dataDir: string;
  options: ResolvedNetworkOptions;
  taps: LinkTool;
  podLinks?: PodLinks | undefined;
  log: (message: string) => void;
}): PodNetwork {
  const alive = (x: KubeObject | undefined): boolean =>
    x !== undefined && x.metadata.deletionTimestamp === undefined;
  return new PodNetwork({
    dataDir: o.dataDir,
    cidr: o.options.podCidr,
    dns: clusterDnsAddress(o.options),
    links: o.podLinks ?? linuxPodLinks,
    taps: o.taps,
    vmExists: (namespace, name) =>
      alive(o.api.get(virtualMachineKind, namespace, name)) ||
      alive(o.api.get(virtualMachineInstanceKind, namespace, name)),
    log: o.log,
  });
}

/** The cluster DNS address: the 10th address of the service CIDR (10.96.0.10 for 10.96.0.0/16). */
export function clusterDnsAddress(o: ResolvedNetworkOptions): string {
  return formatIpv4(o.serviceRange.first + 9);
}
