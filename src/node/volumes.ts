/**
 * Turns a VMI's volumes into files QEMU can open: a copy-on-write overlay over the image of a
 * containerDisk (discarded with the VMI), a blank emptyDisk, the PVC's disk file, and the
 * cloud-init seed ISO. Everything created is registered on the undo stack so a failed start
 * leaves nothing behind.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { parseQuantity } from '../api/quantity.js';
import type { PreparedVolume } from '../hypervisor/prepared.js';
import type { ImageStore } from '../storage/images.js';
import { renderSeed, type SecretLookup } from './cloudinit.js';
import type { DiskTool, IsoTool } from './ports.js';
import type { UndoStack } from './undo.js';

/** A reason the VMI cannot start yet, reported as its Synchronized condition (ErrImagePull, PvcNotFound…). */
export class VolumeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface VolumeContext {
  dir: string;
  images: ImageStore;
  disks: DiskTool;
  iso: IsoTool;
  secrets: SecretLookup;
  /** The disk file of a bound PVC in the VMI's namespace, or undefined when the claim does not exist or is not bound. */
  claimPath(claimName: string): string | undefined;
  undo: UndoStack;
}

/** Scratch space given to a containerDisk image that is only a kernel and initrd. */
const SCRATCH_BYTES = 1024 * 1024 * 1024;

export async function prepareVolumes(
  vmi: VirtualMachineInstance,
  ctx: VolumeContext,
): Promise<Record<string, PreparedVolume>> {
  const out: Record<string, PreparedVolume> = {};
  for (const volume of vmi.spec.volumes ?? []) {
    const file = (suffix: string): string => join(ctx.dir, `${volume.name}.${suffix}`);
    if (volume.containerDisk !== undefined) {
      let image;
      try {
        image = ctx.images.resolve(volume.containerDisk.image);
      } catch (err) {
        throw new VolumeError('ErrImagePull', err instanceof Error ? err.message : String(err));
      }
      const path = file('qcow2');
      if (image.disk !== undefined) await ctx.disks.createOverlay(image.disk, image.format, path);
      else await ctx.disks.createBlank(path, SCRATCH_BYTES, 'qcow2');
      ctx.undo.push(`remove overlay of ${volume.name}`, () => rm(path, { force: true }));
      const prepared: PreparedVolume = { path, format: 'qcow2' };
      if (image.kernel !== undefined) {
        prepared.kernelBoot = {
          kernel: image.kernel,
          ...(image.initrd !== undefined ? { initrd: image.initrd } : {}),
          ...(image.cmdline !== undefined ? { cmdline: image.cmdline } : {}),
        };
      }
      out[volume.name] = prepared;
    } else if (volume.emptyDisk !== undefined) {
      const bytes = parseQuantity(volume.emptyDisk.capacity)?.value ?? 0;
      const path = file('qcow2');
      await ctx.disks.createBlank(path, Math.ceil(bytes / 512) * 512, 'qcow2');
      ctx.undo.push(`remove empty disk ${volume.name}`, () => rm(path, { force: true }));
      out[volume.name] = { path, format: 'qcow2' };
    } else if (volume.persistentVolumeClaim !== undefined || volume.dataVolume !== undefined) {
      const claim = volume.persistentVolumeClaim?.claimName ?? volume.dataVolume?.name ?? '';
      const path = ctx.claimPath(claim);
      if (path === undefined)
        throw new VolumeError(
          'PvcNotFound',
          `PVC ${JSON.stringify(claim)} does not exist or is not bound yet`,
        );
      const info = await ctx.disks.info(path);
      out[volume.name] = {
        path,
        format: info.format === 'raw' ? 'raw' : 'qcow2',
        ...(volume.persistentVolumeClaim?.readOnly === true ? { readonly: true } : {}),
      };
    } else if (volume.cloudInitNoCloud !== undefined || volume.cloudInitConfigDrive !== undefined) {
      let seed;
      try {
        seed = renderSeed(vmi, volume, ctx.secrets);
      } catch (err) {
        throw new VolumeError('CloudInitFailed', err instanceof Error ? err.message : String(err));
      }
      const path = file('iso');
      await ctx.iso.build(path, seed.label, seed.files);
      ctx.undo.push(`remove seed ISO ${volume.name}`, () => rm(path, { force: true }));
      out[volume.name] = { path, format: 'raw', readonly: true };
    }
    // Other sources (configMap, secret, serviceAccount, hostDisk…) come with later issues; their disks are skipped with a warning.
  }
  attachKernelBoot(vmi, ctx, out);
  return out;
}

/**
 * KubeVirt's `firmware.kernelBoot.container`: the kernel and initrd come from an image (here, one of
 * the node's image store) and boot the VM's first disk, for root filesystems without a boot loader.
 */
function attachKernelBoot(
  vmi: VirtualMachineInstance,
  ctx: VolumeContext,
  out: Record<string, PreparedVolume>,
): void {
  const kb = vmi.spec.domain.firmware?.kernelBoot as
    { kernelArgs?: string; container?: { image?: string } } | undefined;
  const ref = kb?.container?.image;
  if (ref === undefined || ref === '') return;
  let image;
  try {
    image = ctx.images.resolve(ref);
  } catch (err) {
    throw new VolumeError('ErrImagePull', err instanceof Error ? err.message : String(err));
  }
  if (image.kernel === undefined)
    throw new VolumeError(
      'ErrImagePull',
      `image ${JSON.stringify(ref)} has no kernel for firmware.kernelBoot`,
    );
  const disks = [...(vmi.spec.domain.devices.disks ?? [])].sort(
    (a, b) => (a.bootOrder ?? Infinity) - (b.bootOrder ?? Infinity),
  );
  const boot = disks.find((d) => out[d.name] !== undefined && out[d.name]?.kernelBoot === undefined);
  const volume = boot === undefined ? undefined : out[boot.name];
  if (volume === undefined) return;
  const cmdline = kb?.kernelArgs ?? image.cmdline;
  volume.kernelBoot = {
    kernel: image.kernel,
    ...(image.initrd !== undefined ? { initrd: image.initrd } : {}),
    ...(cmdline !== undefined ? { cmdline } : {}),
  };
}
