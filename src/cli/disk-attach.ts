/**
 * `hikube disk attach VM DISK [--bus virtio|sata|scsi]` and `hikube disk detach VM DISK`: adds or
 * removes a persistent disk (a PVC, or a DataVolume's) in a stopped VM's template, so that the
 * next start has it. A running VM is refused (stop it first): its guest keeps the disks it booted
 * with. The VM is updated with its resourceVersion, so a concurrent change is not overwritten.
 */
import { parseArgs } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

const BUSES = ['virtio', 'sata', 'scsi', 'usb'];

interface Vm extends KubeObject {
  spec: {
    template: {
      spec: {
        domain: { devices: { disks?: { name: string; disk?: { bus?: string } }[] } };
        volumes?: {
          name: string;
          persistentVolumeClaim?: { claimName: string };
          dataVolume?: { name: string };
        }[];
      };
    };
  };
}
interface Vmi extends KubeObject {
  status?: { phase?: string };
}

const path = (ns: string, group: string, plural: string, name: string): string =>
  `${group === '' ? '/api/v1' : `/apis/${group}`}/namespaces/${encodeURIComponent(ns)}/${plural}/${encodeURIComponent(name)}`;

async function find<T>(c: KubeClient, p: string): Promise<T | undefined> {
  try {
    return (await c.call<T>('GET', p)).value;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** The VM, refused when its guest runs. */
async function stoppedVm(c: KubeClient, namespace: string, name: string, verb: string): Promise<Vm> {
  const vm = await find<Vm>(c, path(namespace, 'kubevirt.io/v1', 'virtualmachines', name));
  if (vm === undefined) throw new UsageError(`virtual machine ${namespace}/${name} not found`);
  const vmi = await find<Vmi>(c, path(namespace, 'kubevirt.io/v1', 'virtualmachineinstances', name));
  if (vmi !== undefined && vmi.status?.phase !== 'Succeeded' && vmi.status?.phase !== 'Failed')
    throw new UsageError(
      `cannot ${verb} a disk while ${name} runs (phase ${vmi.status?.phase ?? 'Pending'}): stop it first (hikube stop ${name} --wait)`,
    );
  return vm;
}

export async function attachDisk(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...connectionOptions, bus: { type: 'string' } },
  });
  const [vmName, disk] = positionals;
  if (vmName === undefined || disk === undefined)
    throw new UsageError('usage: hikube disk attach VM DISK [--bus virtio|sata|scsi|usb]');
  if (values.bus !== undefined && !BUSES.includes(values.bus))
    throw new UsageError(`--bus ${values.bus}: use one of ${BUSES.join(', ')}`);
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  const claim = await find<KubeObject>(c, path(namespace, '', 'persistentvolumeclaims', disk));
  if (claim === undefined)
    throw new UsageError(`disk ${disk} not found in ${namespace} (hikube disk list shows the disks)`);
  const vm = await stoppedVm(c, namespace, vmName, 'attach');
  const spec = vm.spec.template.spec;
  const disks = spec.domain.devices.disks ?? [];
  const volumes = spec.volumes ?? [];
  const holder = volumes.find((v) => (v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name) === disk);
  if (holder !== undefined)
    throw new UsageError(`disk ${disk} is already attached to ${vmName} (as ${holder.name})`);
  if (disks.some((d) => d.name === disk) || volumes.some((v) => v.name === disk))
    throw new UsageError(`${vmName} already has a disk named ${disk}`);
  const dv = await find<KubeObject>(c, path(namespace, 'cdi.kubevirt.io/v1beta1', 'datavolumes', disk));
  spec.domain.devices.disks = [
    ...disks,
    { name: disk, disk: values.bus !== undefined ? { bus: values.bus } : {} },
  ];
  spec.volumes = [
    ...volumes,
    dv !== undefined
      ? { name: disk, dataVolume: { name: disk } }
      : { name: disk, persistentVolumeClaim: { claimName: disk } },
  ];
  await c.call('PUT', path(namespace, 'kubevirt.io/v1', 'virtualmachines', vmName), vm);
  process.stdout.write(`disk ${disk} attached to ${vmName}: the guest sees it at its next start\n`);
}

export async function detachDisk(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: connectionOptions });
  const [vmName, disk] = positionals;
  if (vmName === undefined || disk === undefined) throw new UsageError('usage: hikube disk detach VM DISK');
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  const vm = await stoppedVm(c, namespace, vmName, 'detach');
  const spec = vm.spec.template.spec;
  const volume = (spec.volumes ?? []).find(
    (v) => (v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name) === disk || v.name === disk,
  );
  if (volume === undefined || (volume.persistentVolumeClaim === undefined && volume.dataVolume === undefined))
    throw new UsageError(`disk ${disk} is not attached to ${vmName}`);
  await c.call(
    'PUT',
    `${path(namespace, 'subresources.kubevirt.io/v1', 'virtualmachines', vmName)}/removevolume`,
    {
      name: volume.name,
    },
  );
  process.stdout.write(`disk ${disk} detached from ${vmName} (the disk itself is kept)\n`);
}
