/**
 * The VMDisk phase of the Cozystack controller: a VMDisk becomes a DataVolume (and its claim) owned
 * by it, grows with it, and reports its readiness, including while its image is not in the catalog
 * yet. The condition merge and ownership test are shared with the VMInstance phase.
 */
import { goldenImageName } from '../../api/cozystack/golden-names.js';
import { KERNEL_BOOT_ANNOTATION } from '../../storage/os-catalog.js';
import { isDeepStrictEqual } from 'node:util';
import { dataSourceKind } from '../../api/cdi/datasource.js';
import { dataVolumeKind, type DataVolume } from '../../api/cdi/datavolume.js';
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import {
  diskBytes,
  diskObjectName,
  GOLDEN_IMAGES_NAMESPACE,
  KERNEL_IMAGE_ANNOTATION,
  vmDiskKind,
  type VMDisk,
} from '../../api/cozystack/vmdisk.js';
import type { Condition } from '../../api/kubevirt/status.js';
import type { KubeObject } from '../../api/meta.js';
import { requestedBytes, type Claim } from '../../storage/claims.js';
import type { Client } from '../../runtime/client.js';
import type { EventRecorder } from '../../runtime/events.js';
import { compileDisk } from './compile.js';

/** What the disk phase reads and writes through. */
export interface DiskContext {
  readonly api: Client;
  readonly events: EventRecorder;
  readonly now: () => Date;
}

export async function syncDisk(ctx: DiskContext, namespace: string, name: string): Promise<void> {
  const disk = ctx.api.get<VMDisk>(vmDiskKind, namespace, name);
  if (disk === undefined || disk.metadata.deletionTimestamp !== undefined) return;
  const dvName = diskObjectName(name);
  let dv = ctx.api.get<DataVolume>(dataVolumeKind, namespace, dvName);
  if (dv !== undefined && !ownedBy(dv, disk)) {
    // Left by a deleted disk of the same name, on its way out: wait for the garbage collector.
    await setDiskStatus(ctx, disk, undefined, undefined, {
      type: 'Ready',
      status: 'False',
      reason: 'Conflict',
      message: `DataVolume ${dvName} belongs to another object`,
    });
    return;
  }
  if (dv === undefined) {
    dv = await ctx.api.create<DataVolume>(dataVolumeKind, compileDisk(disk, kernelImageFor(ctx, disk)));
    ctx.events.record(disk, 'Normal', 'SuccessfulCreate', `Created DataVolume ${dvName}`);
  }
  const claim = ctx.api.get<Claim>(persistentVolumeClaimKind, namespace, dvName);
  const wanted = diskBytes(disk.spec);
  const asked = claim === undefined ? undefined : requestedBytes(claim);
  if (claim?.status?.phase === 'Bound' && wanted !== undefined && asked !== undefined && wanted > asked) {
    await ctx.api.mutate<Claim>(persistentVolumeClaimKind, namespace, dvName, (c) => {
      c.spec.resources = {
        ...c.spec.resources,
        requests: { ...c.spec.resources?.requests, storage: String(disk.spec?.storage) },
      };
    });
    ctx.events.record(disk, 'Normal', 'Resizing', `Growing PVC ${dvName} to ${String(disk.spec?.storage)}`);
  }
  const phase = dv.status?.phase;
  const running = dv.status?.conditions?.find((c) => c.type === 'Running');
  const image = disk.spec?.source?.image?.name;
  // A namespaced operator does not see the catalog's namespace: it cannot tell a missing image,
  // and the DataVolume's own state (which names a missing DataSource) is shown instead.
  const imageMissing =
    phase !== 'Succeeded' &&
    image !== undefined &&
    ctx.api.sees(dataSourceKind, GOLDEN_IMAGES_NAMESPACE) &&
    ctx.api.get(dataSourceKind, GOLDEN_IMAGES_NAMESPACE, goldenImageName(image)) === undefined;
  const ready: Condition =
    phase === 'Succeeded'
      ? { type: 'Ready', status: 'True', reason: 'Ready', message: `PVC ${dvName} is ready` }
      : imageMissing
        ? {
            type: 'Ready',
            status: 'False',
            reason: 'ImageNotFound',
            message: `waiting for image ${JSON.stringify(image)}: not in the catalog yet (DataSources of namespace ${GOLDEN_IMAGES_NAMESPACE})`,
          }
        : {
            type: 'Ready',
            status: 'False',
            reason: phase === 'Failed' ? 'ImportFailed' : (running?.reason ?? phase ?? 'Pending'),
            message: running?.message ?? `DataVolume ${dvName} is ${phase ?? 'Pending'}`,
          };
  const before = disk.status?.conditions?.find((c) => c.type === 'Ready');
  if (imageMissing && before?.reason !== ready.reason)
    ctx.events.record(disk, 'Warning', ready.reason ?? '', ready.message ?? '');
  await setDiskStatus(ctx, disk, dv, claim, ready);
}

/** The node image to kernel-boot a disk from: its own annotation, else its golden image's. */
export function kernelImageFor(ctx: DiskContext, disk: VMDisk): string | undefined {
  const own = disk.metadata.annotations?.[KERNEL_IMAGE_ANNOTATION];
  if (own !== undefined) return own;
  const image = disk.spec?.source?.image?.name;
  if (image !== undefined) {
    // The OS catalog marks its images that boot by direct kernel (src/storage/os-images.ts).
    const ann = ctx.api.get(dataSourceKind, GOLDEN_IMAGES_NAMESPACE, goldenImageName(image))?.metadata
      .annotations;
    return ann?.[KERNEL_IMAGE_ANNOTATION] ?? kernelBootImage(ann?.[KERNEL_BOOT_ANNOTATION]);
  }
  const from = disk.spec?.source?.disk?.name;
  if (from !== undefined)
    return ctx.api.get(dataVolumeKind, disk.metadata.namespace ?? '', diskObjectName(from))?.metadata
      .annotations?.[KERNEL_IMAGE_ANNOTATION];
  return undefined;
}

export async function setDiskStatus(
  ctx: DiskContext,
  disk: VMDisk,
  dv: DataVolume | undefined,
  claim: Claim | undefined,
  ready: Condition,
): Promise<void> {
  await ctx.api.mutate<VMDisk>(
    vmDiskKind,
    disk.metadata.namespace ?? '',
    disk.metadata.name ?? '',
    (d) => {
      const before = d.status ?? {};
      const capacity = claim?.status?.capacity?.['storage'];
      const next: NonNullable<VMDisk['status']> = {
        ...(dv?.status?.phase !== undefined ? { phase: dv.status.phase } : {}),
        ...(dv?.status?.progress !== undefined ? { progress: dv.status.progress } : {}),
        ...(claim !== undefined ? { claimName: claim.metadata.name ?? '' } : {}),
        ...(capacity !== undefined ? { capacity: String(capacity) } : {}),
        ...(claim?.spec.storageClassName !== undefined ? { storageClass: claim.spec.storageClassName } : {}),
        observedGeneration: d.metadata.generation ?? 1,
        conditions: mergeConditions(before.conditions, [ready], ctx.now()),
      };
      if (isDeepStrictEqual(before, next)) return false;
      d.status = next;
      return true;
    },
    true,
  );
}

export const ownedBy = (o: KubeObject, owner: KubeObject): boolean =>
  (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);

export /** Conditions in the given order, keeping lastTransitionTime when the status did not change. */
function mergeConditions(before: Condition[] | undefined, wanted: Condition[], now: Date): Condition[] {
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return wanted.map((c) => {
    const old = before?.find((b) => b.type === c.type);
    return {
      ...c,
      lastTransitionTime: old !== undefined && old.status === c.status ? (old.lastTransitionTime ?? at) : at,
    };
  });
}

/** The image of a catalog DataSource's kernel-boot annotation (JSON of firmware.kernelBoot). */
function kernelBootImage(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    const image = (JSON.parse(json) as { container?: { image?: unknown } }).container?.image;
    return typeof image === 'string' && image !== '' ? image : undefined;
  } catch {
    return undefined;
  }
}
