/**
 * The snapshot controller (KubeVirt's snapshot, restore and clone controllers in one work queue,
 * so that two operations on one VM never interleave). A VirtualMachineSnapshot is taken through
 * the node's Snapshotter and recorded in a VirtualMachineSnapshotContent; deleting the content
 * frees its layers.
 * Runs on the controller runtime (src/runtime): reads from the manager's cache; before an act that
 * must not happen twice (taking layers, restoring them) it reads the object from the server.
 * This class only routes: each kind's phases are in snapshot.ts (lifecycle), take.ts (the layers),
 * status.ts, content.ts, restore.ts and clone.ts.
 */
import { virtualMachineCloneKind } from '../../api/clone/clone.js';
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../api/kubevirt/vmi.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import { virtualMachineRestoreKind } from '../../api/snapshot/restore.js';
import { virtualMachineSnapshotKind, type VirtualMachineSnapshot } from '../../api/snapshot/snapshot.js';
import type { Snapshotter } from '../../node/snapshots.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { syncClone } from './clone.js';
import { syncContent } from './content.js';
import { keyOf, type SnapshotContext } from './context.js';
import { syncRestore } from './restore.js';
import { syncSnapshot } from './snapshot.js';

export interface SnapshotControllerOptions {
  manager: Manager;
  events: EventRecorder;
  snapshotter: Snapshotter;
  /** The disk file of a bound, populated claim (the provisioner's claimPath). */
  claimPath: (namespace: string, claim: string) => string | undefined;
  log?: (message: string) => void;
  now?: () => Date;
}

/** `Kind:ns/name` of an object of `def`. */
const own =
  (def: KindDefinition) =>
  (o: KubeObject): string[] => [keyOf(def, o.metadata.namespace ?? '', o.metadata.name ?? '')];

const snapshotOfContent = (c: KubeObject): string[] => {
  const snapshot = (c as VirtualMachineSnapshotContent).spec.virtualMachineSnapshotName;
  return snapshot === undefined
    ? []
    : [keyOf(virtualMachineSnapshotKind, c.metadata.namespace ?? '', snapshot)];
};

/** The keys of every object of `def` in namespace `ns`. */
const allIn = (api: Client, def: KindDefinition, ns: string | undefined): string[] =>
  api.list<KubeObject>(def, ns).flatMap(own(def));

const snapshotsOf = (api: Client, vm: KubeObject): string[] =>
  api
    .list<VirtualMachineSnapshot>(virtualMachineSnapshotKind, vm.metadata.namespace)
    .filter((s) => s.spec.source.name === vm.metadata.name)
    .flatMap(own(virtualMachineSnapshotKind));

export class SnapshotController extends Reconciler {
  private readonly ctx: SnapshotContext;

  constructor(o: SnapshotControllerOptions) {
    super(o.manager, {
      name: 'snapshot-controller',
      backoff: { baseMs: 200, maxMs: 10_000 },
      ...(o.log !== undefined ? { log: o.log } : {}),
    });
    const api = this.controller.client;
    this.ctx = {
      api,
      events: o.events,
      snapshotter: o.snapshotter,
      claimPath: o.claimPath,
      now: o.now ?? (() => new Date()),
      find: async <T extends KubeObject>(def: KindDefinition, ns: string, name: string) =>
        api.get<T>(def, ns, name) ?? (await api.getLive<T>(def, ns, name)),
      later: (key, ms) => this.controller.queue.addAfter(key, ms),
    };
    const ns = (o: KubeObject): string | undefined => o.metadata.namespace;
    const clones = (o: KubeObject): string[] => allIn(api, virtualMachineCloneKind, ns(o));
    const restores = (o: KubeObject): string[] => allIn(api, virtualMachineRestoreKind, ns(o));
    this.controller
      // Clones follow the snapshots and restores they make; a snapshot that appeared or became
      // ready lets the restores waiting for it go on.
      .watch(virtualMachineSnapshotKind, (o) => [
        ...own(virtualMachineSnapshotKind)(o),
        ...clones(o),
        ...restores(o),
      ])
      // A content's changes (its deletion above all) wake its snapshot, which waits for it to go.
      .watch(virtualMachineSnapshotContentKind, (c) => [
        ...own(virtualMachineSnapshotContentKind)(c),
        ...snapshotOfContent(c),
      ])
      .watch(virtualMachineRestoreKind, (o) => [...own(virtualMachineRestoreKind)(o), ...clones(o)])
      .watch(virtualMachineCloneKind, own(virtualMachineCloneKind))
      // A VMI that stopped may unblock a restore.
      .watch(virtualMachineInstanceKind, restores)
      // A VM that appeared: the snapshots naming it stop waiting, and so do clones.
      .watch(virtualMachineKind, (vm) => [...snapshotsOf(api, vm), ...clones(vm)])
      .reads(persistentVolumeClaimKind);
  }

  protected async reconcile(key: string): Promise<void> {
    const [kind = '', rest = ''] = key.split(':');
    const [ns = '', name = ''] = rest.split('/');
    if (kind === virtualMachineSnapshotKind.kind) await syncSnapshot(this.ctx, ns, name);
    else if (kind === virtualMachineSnapshotContentKind.kind) await syncContent(this.ctx, ns, name);
    else if (kind === virtualMachineRestoreKind.kind) await syncRestore(this.ctx, ns, name);
    else if (kind === virtualMachineCloneKind.kind) await syncClone(this.ctx, ns, name);
  }
}
