/**
 * What is Hikube's own, as opposed to what KubeVirt, CDI and Kubernetes do: the VMInstance and
 * VMDisk reconciler, snapshot schedules, tenants, and the catalog (instance types, preferences,
 * the OS images' DataSources, the `replicated` StorageClass alias). `hikube up` runs these in
 * process unless --without-hikube-controllers; `hikube operator` runs exactly these against any
 * Kubernetes API over HTTP. One list, so the two never drift apart. A manager scoped to one
 * namespace (`hikube operator --namespace`) runs what acts inside it: not the tenants (a Tenant
 * makes namespaces), and only the catalog objects of that namespace.
 */
import { seedObjects } from '../api/catalog.js';
import type { KubeObject } from '../api/meta.js';
import { findKindByGvk } from '../api/registry.js';
import { replicatedStorageClass } from '../api/storage/storageclass.js';
import { CozystackController } from '../controllers/cozystack/controller.js';
import { apiScheduleSnapshots } from '../controllers/schedule/api-snapshots.js';
import { ScheduleController } from '../controllers/schedule/controller.js';
import { TenantController } from '../controllers/tenant/controller.js';
import { recorderFor } from '../runtime/events.js';
import type { Manager } from '../runtime/manager.js';
import type { Timers } from '../runtime/queue.js';
import { isAlreadyExists } from '../runtime/transport.js';
import { osCatalogObjects } from '../storage/os-catalog.js';

export interface HikubeControllersOptions {
  manager: Manager;
  /** The host named in Events' source. */
  host: string;
  cpuAllocationRatio?: number;
  /** The pod network's CIDR: tenants' isolation policies let everything outside it through. */
  podCidr?: string;
  log?: (message: string) => void;
  /** The schedules' clock and timers (tests; default real time). */
  schedules?: { now: () => Date; timers: Timers };
}

/** The catalog Hikube installs: instance types and preferences, OS images, the `replicated` class. */
export function hikubeCatalog(): KubeObject[] {
  return [...seedObjects(), replicatedStorageClass(), ...osCatalogObjects()];
}

/**
 * Creates what of the catalog is missing; an object already there (perhaps edited by an admin)
 * is left as it is. Safe to run on every start, from any number of processes at once.
 */
export async function installCatalog(manager: Manager, objects = hikubeCatalog()): Promise<void> {
  const scope = manager.namespace;
  for (const object of objects) {
    if (scope !== undefined && (object.metadata.namespace ?? '') !== scope) continue;
    const def = findKindByGvk(object.apiVersion, object.kind);
    if (def === undefined) throw new Error(`catalog: unknown kind ${object.apiVersion} ${object.kind}`);
    try {
      await manager.client.create(def, object);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/**
 * Adds Hikube's reconcilers to `manager` (before or after it starts) and makes the root tenant.
 * Resolves once they run.
 */
export async function addHikubeControllers(o: HikubeControllersOptions): Promise<void> {
  const { manager, host } = o;
  const log = o.log !== undefined ? { log: o.log } : {};
  // VMInstance and VMDisk, compiled to VirtualMachines, DataVolumes, Secrets and Services.
  const cozystack = new CozystackController({
    manager,
    events: recorderFor(manager, 'cozystack-controller', host),
    ...log,
  });
  // Cozystack's tenants: tenant-root from the first start, each Tenant a namespace with its quota.
  const tenants =
    manager.namespace !== undefined
      ? undefined
      : new TenantController({
          manager,
          events: recorderFor(manager, 'tenant-controller', host),
          ...(o.cpuAllocationRatio !== undefined ? { cpuAllocationRatio: o.cpuAllocationRatio } : {}),
          ...(o.podCidr !== undefined ? { podCidr: o.podCidr } : {}),
          ...log,
        });
  // Snapshot schedules: VirtualMachineSnapshots on a cron schedule, pruned by retention.
  const schedules = new ScheduleController({
    manager,
    events: recorderFor(manager, 'snapshot-schedule-controller', host),
    snapshots: apiScheduleSnapshots(manager),
    ...o.schedules,
    ...log,
  });
  await manager.add(cozystack);
  if (tenants !== undefined) {
    await manager.add(tenants);
    await tenants.ensureRoot();
  }
  await manager.add(schedules);
}
