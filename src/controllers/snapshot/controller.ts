/**
 * The snapshot controller (KubeVirt's snapshot, restore and clone controllers in one work queue,
 * so that two operations on one VM never interleave). A VirtualMachineSnapshot is taken through
 * the node's Snapshotter and recorded in a VirtualMachineSnapshotContent; deleting the content
 * frees its layers. VirtualMachineRestore and VirtualMachineClone are in restore.ts and clone.ts.
 * Runs on the controller runtime (src/runtime): reads from the manager's cache; before an act that
 * must not happen twice (taking layers, restoring them) it reads the object from the server.
 */
import { virtualMachineCloneKind } from '../../api/clone/clone.js';
import { persistentVolumeClaimKind } from '../../api/core/core.js';
import type { KindDefinition } from '../../api/kind.js';
import type { KubeObject } from '../../api/meta.js';
import { virtualMachineKind, type VirtualMachine } from '../../api/kubevirt/vm.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../api/kubevirt/vmi.js';
import { parseDuration } from '../../api/duration.js';
import { setCondition } from '../../api/snapshot/common.js';
import {
  virtualMachineSnapshotContentKind,
  type VirtualMachineSnapshotContent,
} from '../../api/snapshot/content.js';
import { virtualMachineRestoreKind } from '../../api/snapshot/restore.js';
import {
  DEFAULT_FAILURE_DEADLINE,
  virtualMachineSnapshotKind,
  type VirtualMachineSnapshot,
} from '../../api/snapshot/snapshot.js';
import type { Snapshotter } from '../../node/snapshots.js';
import type { Client } from '../../runtime/client.js';
import { Reconciler } from '../../runtime/reconciler.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Manager } from '../../runtime/manager.js';
import { syncClone } from './clone.js';
import { syncRestore } from './restore.js';
import {
  CONTENT_FINALIZER,
  LAYERS_ANNOTATION,
  SNAPSHOT_FINALIZER,
  contentNameOf,
  layersOf,
  persistentVolumes,
  volumeSnapshotNameOf,
} from './volumes.js';

export interface SnapshotControllerOptions {
  manager: Manager;
  events: EventRecorder;
  snapshotter: Snapshotter;
  /** The disk file of a bound, populated claim (the provisioner's claimPath). */
  claimPath: (namespace: string, claim: string) => string | undefined;
  log?: (message: string) => void;
  now?: () => Date;
}

/** What restore.ts and clone.ts need of the controller. */
export interface SnapshotContext {
  api: Client;
  events: EventRecorder;
  snapshotter: Snapshotter;
  claimPath: (namespace: string, claim: string) => string | undefined;
  now: () => Date;
  /**
   * From the cache, or from the server when the cache has none: an object created a moment ago
   * may not have reached its informer yet, and "not found" would fail an operation for good.
   */
  find<T extends KubeObject>(def: KindDefinition, ns: string, name: string): Promise<T | undefined>;
  /** Looks at `kind:ns/name` again after `ms`. */
  later(key: string, ms: number): void;
}

export const keyOf = (def: KindDefinition, ns: string, name: string): string => `${def.kind}:${ns}/${name}`;

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
    // Clones follow the snapshots and restores they make; a VMI that stopped may unblock a restore.
    const andClones =
      (def: KindDefinition) =>
      (o: KubeObject): string[] => [
        ...own(def)(o),
        ...api
          .list<KubeObject>(virtualMachineCloneKind, o.metadata.namespace)
          .flatMap(own(virtualMachineCloneKind)),
      ];
    // A snapshot that appeared or became ready: the restores waiting for it go on.
    const andRestores = (o: KubeObject): string[] =>
      api
        .list<KubeObject>(virtualMachineRestoreKind, o.metadata.namespace)
        .flatMap(own(virtualMachineRestoreKind));
    // A VM that appeared: the snapshots naming it stop waiting, and so do clones.
    const waitingOnVm = (vm: KubeObject): string[] => [
      ...api
        .list<VirtualMachineSnapshot>(virtualMachineSnapshotKind, vm.metadata.namespace)
        .filter((s) => s.spec.source.name === vm.metadata.name)
        .flatMap(own(virtualMachineSnapshotKind)),
      ...api
        .list<KubeObject>(virtualMachineCloneKind, vm.metadata.namespace)
        .flatMap(own(virtualMachineCloneKind)),
    ];
    this.controller
      .watch(virtualMachineSnapshotKind, (o) => [
        ...andClones(virtualMachineSnapshotKind)(o),
        ...andRestores(o),
      ])
      // A content's changes (its deletion above all) wake its snapshot, which waits for it to go.
      .watch(virtualMachineSnapshotContentKind, (c) => [
        ...own(virtualMachineSnapshotContentKind)(c),
        ...snapshotOfContent(c),
      ])
      .watch(virtualMachineRestoreKind, andClones(virtualMachineRestoreKind))
      .watch(virtualMachineCloneKind, own(virtualMachineCloneKind))
      .watch(virtualMachineInstanceKind, (vmi) =>
        api
          .list<KubeObject>(virtualMachineRestoreKind, vmi.metadata.namespace)
          .flatMap(own(virtualMachineRestoreKind)),
      )
      .watch(virtualMachineKind, waitingOnVm)
      .reads(persistentVolumeClaimKind);
  }

  protected async reconcile(key: string): Promise<void> {
    const [kind = '', rest = ''] = key.split(':');
    const [ns = '', name = ''] = rest.split('/');
    if (kind === virtualMachineSnapshotKind.kind) await this.syncSnapshot(ns, name);
    else if (kind === virtualMachineSnapshotContentKind.kind) await this.syncContent(ns, name);
    else if (kind === virtualMachineRestoreKind.kind) await syncRestore(this.ctx, ns, name);
    else if (kind === virtualMachineCloneKind.kind) await syncClone(this.ctx, ns, name);
  }

  private async syncSnapshot(ns: string, name: string): Promise<void> {
    const { api } = this.ctx;
    const snap = api.get<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
    if (snap === undefined) return;
    const contentName = contentNameOf(snap.metadata.uid ?? '');
    if (snap.metadata.deletionTimestamp !== undefined) {
      const content = await this.ctx.find<VirtualMachineSnapshotContent>(
        virtualMachineSnapshotContentKind,
        ns,
        contentName,
      );
      if (content !== undefined && (snap.spec.deletionPolicy ?? 'Delete') === 'Delete') {
        if (content.metadata.deletionTimestamp === undefined)
          await api.delete(virtualMachineSnapshotContentKind, ns, contentName);
        return; // the content's deletion requeues the snapshot
      }
      await this.releaseVm(snap);
      await api.mutate<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name, (s) => {
        const f = s.metadata.finalizers ?? [];
        if (!f.includes(SNAPSHOT_FINALIZER)) return false;
        s.metadata.finalizers = f.filter((x) => x !== SNAPSHOT_FINALIZER);
      });
      return;
    }
    if (!(snap.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER)) {
      await api.mutate<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name, (s) => {
        s.metadata.finalizers = [...(s.metadata.finalizers ?? []), SNAPSHOT_FINALIZER];
      });
      return;
    }
    const phase = snap.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const now = this.ctx.now();
    const deadline = parseDuration(snap.spec.failureDeadline ?? DEFAULT_FAILURE_DEADLINE) ?? 0;
    const started = Date.parse(snap.metadata.creationTimestamp ?? now.toISOString());
    const vm = await this.ctx.find<VirtualMachine>(virtualMachineKind, ns, snap.spec.source.name);
    const fail = async (reason: string, message: string): Promise<void> => {
      await this.setStatus(snap, (st) => {
        st.phase = 'Failed';
        st.readyToUse = false;
        st.error = { time: now.toISOString(), message };
        st.conditions = setCondition(
          st.conditions,
          'Progressing',
          'False',
          reason,
          message,
          now.toISOString(),
        );
        st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, now.toISOString());
        st.conditions = setCondition(st.conditions, 'Failure', 'True', reason, message, now.toISOString());
      });
      this.ctx.events.record(snap, 'Warning', 'VirtualMachineSnapshotFailed', message);
      await this.releaseVm(snap);
    };
    if (deadline > 0 && now.getTime() - started > deadline)
      return fail('FailureDeadlineExceeded', 'snapshot deadline exceeded');
    if (vm === undefined && phase === undefined) {
      // Not started yet: as KubeVirt, wait for the VM (applied after its snapshot, say) until the deadline.
      if (deadline > 0)
        this.ctx.later(keyOf(virtualMachineSnapshotKind, ns, name), started + deadline - now.getTime() + 10);
      return await this.waitForSource(snap);
    }
    if (vm === undefined)
      return fail('SourceNotFound', `VirtualMachine ${JSON.stringify(snap.spec.source.name)} does not exist`);
    if (phase === undefined) {
      await this.setStatus(snap, (st) => {
        st.phase = 'InProgress';
        st.readyToUse = false;
        st.sourceUID = vm.metadata.uid ?? '';
        st.creationTime = null;
        st.conditions = setCondition(
          st.conditions,
          'Progressing',
          'True',
          'InProgress',
          'Source locked and operation in progress',
          now.toISOString(),
        );
        st.conditions = setCondition(
          st.conditions,
          'Ready',
          'False',
          'NotReady',
          'Not ready',
          now.toISOString(),
        );
      });
      await api.mutate<VirtualMachine>(
        virtualMachineKind,
        ns,
        vm.metadata.name ?? '',
        (v) => {
          v.status = { ...v.status, snapshotInProgress: name };
        },
        true,
      );
      return;
    }
    // From the server: a guest running unseen would be snapshotted without QMP, as if stopped.
    const vmi = await api.getLive<VirtualMachineInstance>(
      virtualMachineInstanceKind,
      ns,
      vm.metadata.name ?? '',
    );
    const vmiPhase = vmi?.status?.phase;
    const running = vmiPhase === 'Running';
    if (vmi !== undefined && !running && vmiPhase !== 'Succeeded' && vmiPhase !== 'Failed') {
      this.ctx.later(keyOf(virtualMachineSnapshotKind, ns, name), 1000); // starting or stopping: wait
      return;
    }
    const { included, excluded } = persistentVolumes(vm);
    const volumes: { name: string; path: string }[] = [];
    for (const v of included) {
      const path = this.ctx.claimPath(ns, v.claimName);
      if (path === undefined) {
        this.ctx.later(keyOf(virtualMachineSnapshotKind, ns, name), 2000);
        return;
      }
      volumes.push({ name: v.name, path });
    }
    const agent = (vmi?.status?.conditions ?? []).some(
      (c) => c.type === 'AgentConnected' && c.status === 'True',
    );
    const uid = snap.metadata.uid ?? '';
    // A content left by an attempt that died before finishing (kill -9): finish with its layers
    // rather than take new ones and then fail on the existing name forever.
    // Both asked of the server, not the cache: layers taken twice would be leaked.
    const live = await api.getLive<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
    if (live?.status?.phase !== 'InProgress' || live.metadata.deletionTimestamp !== undefined) return;
    const leftover = await api.getLive<VirtualMachineSnapshotContent>(
      virtualMachineSnapshotContentKind,
      ns,
      contentName,
    );
    const taken =
      leftover !== undefined
        ? { layers: leftoverLayers(leftover, uid, included), indications: [] }
        : await this.ctx.snapshotter.take({
            namespace: ns,
            vmName: vm.metadata.name ?? '',
            volumes,
            running,
            freeze: running && agent,
          });
    const layers: Record<string, string> = {};
    const backups = await Promise.all(
      included.map(async (v) => {
        const vsName = volumeSnapshotNameOf(uid, v.name);
        layers[vsName] = taken.layers[v.name] ?? '';
        const pvc = await this.ctx.find<KubeObject & { spec?: unknown }>(
          persistentVolumeClaimKind,
          ns,
          v.claimName,
        );
        return {
          volumeName: v.name,
          persistentVolumeClaim: {
            metadata: { name: v.claimName, labels: pvc?.metadata.labels ?? {}, annotations: {} },
            spec: (pvc?.spec ?? {}) as Record<string, unknown>,
          },
          volumeSnapshotName: vsName,
        };
      }),
    );
    const stamp = this.ctx.now().toISOString();
    const content: VirtualMachineSnapshotContent = {
      apiVersion: 'snapshot.kubevirt.io/v1beta1',
      kind: 'VirtualMachineSnapshotContent',
      metadata: {
        name: contentName,
        namespace: ns,
        finalizers: [CONTENT_FINALIZER],
        annotations: { [LAYERS_ANNOTATION]: JSON.stringify(layers) },
        ...((snap.spec.deletionPolicy ?? 'Delete') === 'Delete'
          ? {
              ownerReferences: [
                {
                  apiVersion: 'snapshot.kubevirt.io/v1beta1',
                  kind: 'VirtualMachineSnapshot',
                  name,
                  uid,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            }
          : {}),
      },
      spec: {
        source: {
          virtualMachine: {
            metadata: {
              name: vm.metadata.name,
              namespace: ns,
              uid: vm.metadata.uid,
              labels: vm.metadata.labels ?? {},
              annotations: vm.metadata.annotations ?? {},
            },
            spec: structuredClone(vm.spec),
          },
        },
        virtualMachineSnapshotName: name,
        volumeBackups: backups,
      },
    };
    const created = leftover ?? (await api.create(virtualMachineSnapshotContentKind, content));
    // A new object: the one create returns is the store's own, and changing it in place made the
    // status write a no-op, so the content lost its status at the next restart (the chaos test).
    await api.updateStatus(virtualMachineSnapshotContentKind, {
      ...created,
      status: {
        creationTime: stamp,
        readyToUse: true,
        volumeSnapshotStatus: backups.map((b) => ({
          volumeSnapshotName: b.volumeSnapshotName,
          creationTime: stamp,
          readyToUse: true,
        })),
      },
    });
    await this.setStatus(snap, (st) => {
      st.phase = 'Succeeded';
      st.readyToUse = true;
      st.creationTime = stamp;
      st.virtualMachineSnapshotContentName = contentName;
      st.indications = taken.indications;
      st.snapshotVolumes = { includedVolumes: included.map((v) => v.name), excludedVolumes: excluded };
      st.conditions = setCondition(
        st.conditions,
        'Progressing',
        'False',
        'Succeeded',
        'Operation complete',
        stamp,
      );
      st.conditions = setCondition(st.conditions, 'Ready', 'True', 'Succeeded', 'Operation complete', stamp);
    });
    this.ctx.events.record(
      snap,
      'Normal',
      'SuccessfulVirtualMachineSnapshotContentCreate',
      `Successfully created VirtualMachineSnapshotContent ${contentName}`,
    );
    await this.releaseVm(snap);
  }

  /** The source VM does not exist yet: conditions and one Event say so. */
  private async waitForSource(snap: VirtualMachineSnapshot): Promise<void> {
    const reason = 'SourceDoesNotExist';
    const message = `waiting for VirtualMachine ${JSON.stringify(snap.spec.source.name)}: it does not exist yet`;
    const progressing = snap.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === reason && progressing.message === message) return;
    const at = this.ctx.now().toISOString();
    await this.setStatus(snap, (st) => {
      st.readyToUse = false;
      st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, at);
      st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, at);
    });
    this.ctx.events.record(snap, 'Warning', reason, message);
  }

  private setStatus(
    snap: VirtualMachineSnapshot,
    change: (st: NonNullable<VirtualMachineSnapshot['status']>) => void,
  ): Promise<unknown> {
    return this.ctx.api.mutate<VirtualMachineSnapshot>(
      virtualMachineSnapshotKind,
      snap.metadata.namespace ?? '',
      snap.metadata.name ?? '',
      (s) => {
        s.status ??= {};
        change(s.status);
      },
      true,
    );
  }

  private releaseVm(snap: VirtualMachineSnapshot): Promise<unknown> {
    return this.ctx.api.mutate<VirtualMachine>(
      virtualMachineKind,
      snap.metadata.namespace ?? '',
      snap.spec.source.name,
      (v) => {
        if (v.status === undefined || v.status.snapshotInProgress !== snap.metadata.name) return false;
        delete v.status.snapshotInProgress;
      },
      true,
    );
  }

  /** A content being deleted frees its layers, then lets go (its deletion wakes its snapshot). */
  private async syncContent(ns: string, name: string): Promise<void> {
    const { api } = this.ctx;
    const content = api.get<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name);
    if (content === undefined || content.metadata.deletionTimestamp === undefined) return;
    if (!(content.metadata.finalizers ?? []).includes(CONTENT_FINALIZER)) return;
    for (const layer of Object.values(layersOf(content)))
      if (layer !== '') await this.ctx.snapshotter.deleteLayer(layer);
    await api.mutate<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name, (c) => {
      c.metadata.finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== CONTENT_FINALIZER);
    });
  }
}

/** The layers a leftover content recorded, by volume name (what a take returns). */
function leftoverLayers(
  content: VirtualMachineSnapshotContent,
  snapshotUid: string,
  included: readonly { name: string }[],
): Record<string, string> {
  const recorded = layersOf(content);
  return Object.fromEntries(
    included.map((v) => [v.name, recorded[volumeSnapshotNameOf(snapshotUid, v.name)] ?? '']),
  );
}
