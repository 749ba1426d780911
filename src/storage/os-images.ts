/**
 * Keeps the OS catalog's golden images usable offline: for every catalog entry whose image is in
 * the local image store (built-in like debian:12 and hikube/tiny, or brought in with `hikube image
 * import NAME FILE`), and for every other imported image, the DataSource in kubevirt-os-images
 * points at a PVC that holds it. That PVC's disk is a copy-on-write overlay over the local image,
 * made in constant time whatever the image's size; until it is in place the claim carries CDI's
 * population annotation, so clones and the DataSource wait. Images that boot by direct kernel
 * boot (no boot loader in their disk) get the kernel boot their VMs need as an annotation.
 */
import { rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { dataSourceKind, type DataSource } from '../api/cdi/datasource.js';
import { namespaceKind, persistentVolumeClaimKind } from '../api/core/core.js';
import type { KubeObject } from '../api/meta.js';
import { formatBytes } from '../api/quantity.js';
import type { Client } from '../runtime/client.js';
import { Reconciler } from '../runtime/reconciler.js';
import type { Manager } from '../runtime/manager.js';
import type { DiskTool } from '../node/ports.js';
import { POPULATION_PHASE_ANNOTATION, type Claim } from './claims.js';
import { findImage, type ImageStore, type LocalImage } from './images.js';
import {
  DEFAULT_PREFERENCE_LABEL,
  DISPLAY_NAME_ANNOTATION,
  KERNEL_BOOT_ANNOTATION,
  LOCAL_IMAGE_ANNOTATION,
  OS_IMAGES,
  OS_IMAGES_NAMESPACE,
  OS_LABEL,
  osDataSource,
  type OsImage,
} from './os-catalog.js';
import { roundUpMiB } from './pool.js';

export interface OsImageOptions {
  manager: Manager;
  store: ImageStore;
  /** DATA_DIR/images: images imported there (not pulled) become DataSources too. */
  importedDir: string;
  disks: DiskTool;
  volumePath: (namespace: string, claim: string) => string | undefined;
  log: (message: string) => void;
  /** How often the image store is looked at again (new imports). */
  intervalMs?: number;
}

/** Size of the golden disk of an image that is only a kernel (hikube/tiny): a blank scratch disk. */
const KERNEL_ONLY_BYTES = 1024 * 1048576;

/** `myimage:latest` → `myimage`; `team/app:1.0` → `team-app-1.0`. */
const dataSourceName = (image: string): string =>
  image
    .replace(/:latest$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63);

export interface CatalogImage {
  image: LocalImage;
  entry?: OsImage;
}

/**
 * DataSource name → the local image and the catalog entry (if any) it stands for: catalog entries
 * first (by name, then their local names), then the other images imported into `importedDir`.
 * The store is read once (a directory scan and every image.json): this runs every few seconds.
 */
export function catalogImages(
  store: Pick<ImageStore, 'list'>,
  importedDir: string,
): Map<string, CatalogImage> {
  const out = new Map<string, CatalogImage>();
  const listed = store.list();
  const claimed = new Set<string>();
  for (const entry of OS_IMAGES) {
    const image = [entry.name, ...entry.local]
      .map((ref) => findImage(listed, ref))
      .find((i) => i !== undefined);
    if (image === undefined) continue;
    out.set(entry.name, { image, entry });
    claimed.add(image.dir);
  }
  for (const image of listed) {
    if (claimed.has(image.dir) || image.source !== undefined) continue;
    if (!image.dir.startsWith(importedDir)) continue;
    const name = dataSourceName(image.name);
    if (name !== '' && !out.has(name)) out.set(name, { image });
  }
  return out;
}

export class OsImageController extends Reconciler {
  private readonly api: Client;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: OsImageOptions) {
    super(o.manager, {
      name: 'os-images',
      log: o.log,
    });
    this.api = this.controller.client;
    const inCatalog = (obj: KubeObject): string[] =>
      obj.metadata.namespace === OS_IMAGES_NAMESPACE ? [obj.metadata.name ?? ''] : [];
    this.controller
      .watch(persistentVolumeClaimKind, inCatalog)
      .watch(dataSourceKind, inCatalog)
      .reads(namespaceKind);
  }

  override start(): void {
    this.controller.start();
    const all = (): void => {
      for (const name of this.images().keys()) this.controller.queue.add(name);
    };
    all();
    this.timer = setInterval(all, this.o.intervalMs ?? 5000);
  }

  override stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.controller.stop();
  }

  private images(): Map<string, CatalogImage> {
    return catalogImages(this.o.store, this.o.importedDir);
  }

  protected async reconcile(name: string): Promise<void> {
    const found = this.images().get(name);
    if (found === undefined) return;
    const { image, entry } = found;
    if (this.api.get(namespaceKind, '', OS_IMAGES_NAMESPACE) === undefined)
      await this.api.create(namespaceKind, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: OS_IMAGES_NAMESPACE },
      });
    await this.ensureDataSource(name, image, entry);
    let claim = this.api.get<Claim>(persistentVolumeClaimKind, OS_IMAGES_NAMESPACE, name);
    if (claim === undefined) {
      const bytes =
        image.disk !== undefined ? (await this.o.disks.info(image.disk)).virtualSize : KERNEL_ONLY_BYTES;
      claim = await this.api.create<Claim>(persistentVolumeClaimKind, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: OS_IMAGES_NAMESPACE,
          labels: { 'app.kubernetes.io/managed-by': 'hikube-os-images' },
          annotations: { [LOCAL_IMAGE_ANNOTATION]: image.name, [POPULATION_PHASE_ANNOTATION]: 'Pending' },
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Filesystem',
          resources: { requests: { storage: formatBytes(roundUpMiB(bytes)) } },
        },
      });
    }
    const ann = claim.metadata.annotations ?? {};
    if (ann[LOCAL_IMAGE_ANNOTATION] !== image.name || ann[POPULATION_PHASE_ANNOTATION] !== 'Pending') return;
    const path = this.o.volumePath(OS_IMAGES_NAMESPACE, name);
    if (path === undefined) return; // not bound yet: the claim's change queues it again
    if (image.disk !== undefined) {
      const part = `${path}.overlay.part`;
      try {
        await this.o.disks.createOverlay(image.disk, image.format, part);
        await rename(part, path);
      } finally {
        await rm(part, { force: true });
      }
    }
    const uid = claim.metadata.uid;
    await this.api.mutate<Claim>(persistentVolumeClaimKind, OS_IMAGES_NAMESPACE, name, (c) => {
      if (c.metadata.uid !== uid) return false;
      c.metadata.annotations = { ...c.metadata.annotations, [POPULATION_PHASE_ANNOTATION]: 'Succeeded' };
      return true;
    });
  }

  /** The DataSource (created if missing), annotated with the local image and its kernel boot. */
  private async ensureDataSource(name: string, image: LocalImage, entry: OsImage | undefined): Promise<void> {
    const existing = this.api.get<DataSource>(dataSourceKind, OS_IMAGES_NAMESPACE, name);
    if (existing === undefined) {
      const ds =
        entry !== undefined
          ? osDataSource(entry)
          : {
              apiVersion: 'cdi.kubevirt.io/v1beta1',
              kind: 'DataSource',
              metadata: {
                name,
                namespace: OS_IMAGES_NAMESPACE,
                labels: { [DEFAULT_PREFERENCE_LABEL]: 'custom', [OS_LABEL]: 'custom' },
                annotations: { [DISPLAY_NAME_ANNOTATION]: image.name },
              },
              spec: { source: { pvc: { namespace: OS_IMAGES_NAMESPACE, name } } },
            };
      await this.api.create(dataSourceKind, ds);
    }
    const wanted: Record<string, string> = { [LOCAL_IMAGE_ANNOTATION]: image.name };
    if (image.kernel !== undefined)
      wanted[KERNEL_BOOT_ANNOTATION] = JSON.stringify({
        ...(image.cmdline !== undefined ? { kernelArgs: image.cmdline } : {}),
        container: {
          image: image.name,
          kernelPath: `/boot/${basename(image.kernel)}`,
          ...(image.initrd !== undefined ? { initrdPath: `/boot/${basename(image.initrd)}` } : {}),
        },
      });
    await this.api.mutate<DataSource>(dataSourceKind, OS_IMAGES_NAMESPACE, name, (d) => {
      const ann = d.metadata.annotations ?? {};
      if (Object.entries(wanted).every(([k, v]) => ann[k] === v)) return false;
      d.metadata.annotations = { ...ann, ...wanted };
      return true;
    });
  }
}
