/**
 * The storage side of `hikube up`, assembled in one place: the pool's provisioner (claims →
 * volumes, protection, expansion), CDI's DataVolume and DataSource controllers, the upload
 * endpoint, and what the first start seeds (the default StorageClass). It lives with the platform
 * so that src/storage (the pool's mechanics) does not depend on the controllers built on it.
 */
import { join } from 'node:path';
import type { KubeObject } from '../api/meta.js';
import { defaultStorageClass } from '../api/storage/storageclass.js';
import type { Subresource } from '../apiserver/subresources.js';
import { DataVolumeController } from '../controllers/datavolume/controller.js';
import { DataSourceController } from '../controllers/datavolume/datasource.js';
import { DataImportCronController } from '../controllers/dataimportcron/controller.js';
import { mirrorFor } from '../storage/containerdisk.js';
import { parseReference, RegistryClient } from '../storage/import/registry.js';
import { recorderFor } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import type { OutboundPolicy } from '../network/outbound.js';
import type { OnlineResize } from '../storage/ports.js';
import { Provisioner } from '../storage/provisioner.js';
import { qemuImgTool } from '../storage/qemu-img.js';
import { uploadSubresources, type UploadTarget } from '../storage/upload.js';
import type { CapacityPolicy } from '../storage/capacity.js';

export interface StorageOptions {
  /** The controller runtime the reconcilers that moved onto it run on. */
  manager: Manager;
  nodeName: string;
  dataDir: string;
  /** Grows a disk a running guest has open (the node agent's resizeVolume). */
  onlineResize: OnlineResize;
  /** Registry host (or `*`) → mirror, for registry imports. */
  registryMirrors?: Record<string, string>;
  /** Where imports may connect (src/network/outbound.ts). */
  targets: OutboundPolicy;
  log: (message: string) => void;
  /** How much thin disk the pool may hand out (default: 10× the filesystem's size). */
  capacity?: CapacityPolicy;
}

export interface Storage {
  /** The disk file of a claim a guest may use now (bound and populated). */
  claimPath(namespace: string, claim: string): string | undefined;
  /** The disk file of a bound claim, populated or not. */
  volumePath(namespace: string, claim: string): string | undefined;
  subresources: Subresource[];
  /** Where uploads land (the upload proxy's target too). */
  uploads: UploadTarget;
  start(): void;
  stop(): void;
}

/** The local pool's class; the `replicated` alias and the OS catalog are Hikube's (src/operator). */
export function storageSeedObjects(): KubeObject[] {
  return [defaultStorageClass()];
}

export function createStorage(o: StorageOptions): Storage {
  const provisioner = new Provisioner({
    manager: o.manager,
    events: recorderFor(o.manager, 'persistentvolume-controller', o.nodeName),
    images: qemuImgTool,
    dir: join(o.dataDir, 'volumes'),
    onlineResize: o.onlineResize,
    log: o.log,
    ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
  });
  const dataVolumes = new DataVolumeController({
    manager: o.manager,
    events: recorderFor(o.manager, 'datavolume-controller', o.nodeName),
    images: qemuImgTool,
    ...(o.registryMirrors !== undefined ? { mirrors: o.registryMirrors } : {}),
    targets: o.targets,
    volumePath: (ns, claim) => provisioner.volumePath(ns, claim),
    log: o.log,
  });
  const dataSources = new DataSourceController(o.manager);
  // Golden images kept fresh: the registry asked for a digest under the imports' address policy.
  const importCrons = new DataImportCronController({
    manager: o.manager,
    events: recorderFor(o.manager, 'dataimportcron-controller', o.nodeName),
    digestOf: async (source) => {
      const mirror = mirrorFor(o.registryMirrors, parseReference(source.url).registry);
      const client = new RegistryClient(
        { ...source, ...(mirror !== undefined ? { mirror } : {}) },
        o.targets,
      );
      await client.manifest();
      if (client.digest === undefined) throw new Error(`no digest for ${source.url}`);
      return client.digest;
    },
    log: o.log,
  });
  return {
    claimPath: (ns, claim) => provisioner.claimPath(ns, claim),
    volumePath: (ns, claim) => provisioner.volumePath(ns, claim),
    subresources: uploadSubresources(dataVolumes),
    uploads: dataVolumes,
    start() {
      void o.manager.add(provisioner);
      void o.manager.add(dataVolumes);
      void o.manager.add(dataSources);
      void o.manager.add(importCrons);
    },
    stop() {
      // Transfers end before the pool goes (the manager stopping it again later is harmless).
      dataVolumes.stop();
      provisioner.stop();
    },
  };
}
