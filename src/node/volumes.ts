/**
 * Turns a VMI's volumes into files QEMU can open: a copy-on-write overlay over the image of a
 * containerDisk (discarded with the VMI), a blank emptyDisk, the PVC's disk file, and the
 * cloud-init seed ISO. Everything created is registered on the undo stack so a failed start
 * leaves nothing behind.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelBoot } from '../api/kubevirt/kernel-boot.js';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { parseQuantity } from '../api/quantity.js';
import type { PreparedVolume } from '../hypervisor/prepared.js';
import { ImageFileError, fileInImage } from '../storage/image-files.js';
import { adopt } from '../storage/layers.js';
import { formatOfVolume } from '../storage/pool.js';
import { defaultCapacityPolicy, refusal, type CapacityPolicy } from '../storage/capacity.js';
import type { ImageSource } from '../storage/containerdisk.js';
import type { LocalImage } from '../storage/images.js';
import { renderSeed, type SecretLookup } from './cloudinit.js';
import type { DiskTool, IsoTool } from './ports.js';
import type { UndoStack } from './undo.js';

/** A reason the VMI cannot start yet, reported as its Synchronized condition (ErrImagePull, PvcNotFound…). */
export class VolumeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** When to try again (default 5 s). */
    readonly retryInMs?: number,
    /** Normal for a wait that is no error (an image being pulled). */
    readonly eventType: 'Normal' | 'Warning' = 'Warning',
  ) {
    super(message);
  }
}

export interface VolumeContext {
  dir: string;
  images: ImageSource;
  disks: DiskTool;
  iso: IsoTool;
  secrets: SecretLookup;
  /** The disk file of a bound PVC in the VMI's namespace, or undefined when the claim does not exist or is not bound. */
  claimPath(claimName: string): string | undefined;
  /** How much thin disk may go to `dir`'s filesystem: emptyDisks are held to it (default 10×). */
  capacity?: CapacityPolicy;
  undo: UndoStack;
}

/** Scratch space given to a containerDisk image that is only a kernel and initrd. */
const SCRATCH_BYTES = 1024 * 1024 * 1024;

/**
 * Every image the VMI needs, before anything is created: a missing one is pulled in the
 * background and the start waits (VolumeError Pulling), or fails to (ErrImagePull…).
 */
function acquireImages(vmi: VirtualMachineInstance, ctx: VolumeContext): Map<string, LocalImage> {
  const refs = (vmi.spec.volumes ?? []).flatMap((v) =>
    v.containerDisk !== undefined ? [v.containerDisk.image] : [],
  );
  const kernelImage = kernelBootOf(vmi)?.container?.image;
  if (kernelImage !== undefined) refs.push(kernelImage);
  const out = new Map<string, LocalImage>();
  let waiting: VolumeError | undefined;
  for (const ref of refs) {
    const got = ctx.images.acquire(ref, vmi.metadata.uid ?? '');
    if (got.state === 'ready') out.set(ref, got.image);
    else if (got.state === 'failed') throw new VolumeError(got.reason, got.message, got.retryInMs);
    else waiting ??= new VolumeError('Pulling', got.message, got.retryInMs, 'Normal');
  }
  if (waiting !== undefined) throw waiting;
  return out;
}

const kernelBootOf = (vmi: VirtualMachineInstance): KernelBoot | undefined =>
  vmi.spec.domain.firmware?.kernelBoot;

/** The VMI's emptyDisks, thin files in the data dir, must fit what its filesystem may overcommit. */
async function checkEmptyDisks(vmi: VirtualMachineInstance, ctx: VolumeContext): Promise<void> {
  let total = 0;
  for (const v of vmi.spec.volumes ?? [])
    if (v.emptyDisk !== undefined) total += parseQuantity(v.emptyDisk.capacity)?.value ?? 0;
  if (total === 0) return;
  const policy = ctx.capacity ?? defaultCapacityPolicy();
  const why = refusal(ctx.dir, total, 0, await policy.space(ctx.dir), policy);
  if (why !== undefined)
    throw new VolumeError('FailedCreateEmptyDisk', `not creating the VMI's emptyDisks: ${why}`, 30_000);
}

/** A file of an image (kernelPath, initrdPath), never one outside it. */
function imageFile(image: LocalImage, path: string, what: string): string {
  try {
    return fileInImage(image.dir, path, what);
  } catch (err) {
    if (!(err instanceof ImageFileError)) throw err;
    throw new VolumeError('ErrImagePull', `image ${JSON.stringify(image.name)}: ${err.message}`);
  }
}

function kernelOf(image: LocalImage): string {
  if (image.kernel !== undefined) return image.kernel;
  throw new VolumeError('ErrImagePull', `image ${JSON.stringify(image.name)} has no kernel: set kernelPath`);
}

export async function prepareVolumes(
  vmi: VirtualMachineInstance,
  ctx: VolumeContext,
): Promise<Record<string, PreparedVolume>> {
  const images = acquireImages(vmi, ctx);
  await checkEmptyDisks(vmi, ctx);
  const out: Record<string, PreparedVolume> = {};
  const kernelBoot = kernelBootOf(vmi);
  for (const volume of vmi.spec.volumes ?? []) {
    const file = (suffix: string): string => join(ctx.dir, `${volume.name}.${suffix}`);
    if (volume.containerDisk !== undefined) {
      const image = images.get(volume.containerDisk.image);
      if (image === undefined)
        throw new VolumeError('ErrImagePull', `image ${volume.containerDisk.image} vanished`);
      const path = file('qcow2');
      if (image.disk !== undefined) await ctx.disks.createOverlay(image.disk, image.format, path);
      else await ctx.disks.createBlank(path, SCRATCH_BYTES, 'qcow2');
      ctx.undo.push(`remove overlay of ${volume.name}`, () => rm(path, { force: true }));
      const prepared: PreparedVolume = { path, format: 'qcow2' };
      if (image.kernel !== undefined && kernelBoot === undefined) {
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
      // The guest opens the active layer by its real path, never the volume's symlink, so that
      // snapshots can move the symlink without changing what QEMU has open (src/storage/layers.ts).
      const active = await adopt(path);
      out[volume.name] = {
        path: active,
        format: formatOfVolume(path),
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
  const container = kernelBoot?.container;
  if (container?.image !== undefined) {
    const image = images.get(container.image);
    const first = (vmi.spec.domain.devices.disks ?? []).map((d) => out[d.name]).find((v) => v !== undefined);
    if (image !== undefined && first !== undefined) {
      const cmdline = kernelBoot?.kernelArgs ?? image.cmdline;
      first.kernelBoot = {
        kernel:
          container.kernelPath !== undefined
            ? imageFile(image, container.kernelPath, 'kernelPath')
            : kernelOf(image),
        ...(container.initrdPath !== undefined
          ? { initrd: imageFile(image, container.initrdPath, 'initrdPath') }
          : image.initrd !== undefined
            ? { initrd: image.initrd }
            : {}),
        ...(cmdline !== undefined ? { cmdline } : {}),
      };
    }
  }
  return out;
}
