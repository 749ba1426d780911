/**
 * The pod network's part of the node agent's NetworkSetup: makes a VMI's sandbox before QEMU
 * starts (its undo removes it if the launch fails), joins the tap once QEMU holds it, and turns
 * failures into NetworkErrors, which the agent reports as a condition on the VMI and retries.
 */
import type { Interface } from '../../api/kubevirt/domain.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { NetworkError, type Undo } from '../setup.js';
import type { PodNetwork, PodSandbox } from './pod.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function attachPod(
  pod: PodNetwork,
  vmi: VirtualMachineInstance,
  iface: Interface,
  mac: string,
  undo: Undo,
): Promise<PodSandbox> {
  const what = `interface ${JSON.stringify(iface.name)} on the pod network`;
  if (iface.sriov !== undefined || iface.passt !== undefined || iface.binding !== undefined)
    throw new NetworkError(
      'NetworkNotSupported',
      `${what}: only the masquerade and bridge bindings are supported on this node`,
    );
  const uid = vmi.metadata.uid ?? '';
  undo.push(`remove the pod sandbox of ${vmi.metadata.name ?? ''}`, () => pod.release(uid));
  try {
    return await pod.attach(
      { uid, namespace: vmi.metadata.namespace ?? 'default', name: vmi.metadata.name ?? '' },
      iface.name,
      mac,
      iface.bridge !== undefined ? 'bridge' : 'masquerade',
    );
  } catch (err) {
    throw new NetworkError('NetworkUnavailable', `failed setting up ${what}: ${message(err)}`);
  }
}

export async function joinPod(pod: PodNetwork, uid: string): Promise<void> {
  try {
    await pod.join(uid);
  } catch (err) {
    throw new NetworkError(
      'NetworkUnavailable',
      `failed connecting the guest to the pod network: ${message(err)}`,
    );
  }
}
