/**
 * The snapshot controller (KubeVirt's snapshot, restore and clone controllers in one work queue,
 * so that two operations on one VM never interleave). A VirtualMachineSnapshot is taken through
 * the node's Snapshotter and recorded in a VirtualMachineSnapshotContent; deleting the content
 * frees its layers. VirtualMachineRestore and VirtualMachineClone are in restore.ts and clone.ts.
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
import type { ApiClient } from '../../runtime/registry-client.js';
import type { EventRecorder } from '../../runtime/events.js';
import { WorkQueue } from '../../runtime/queue.js';
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
  api: ApiClient;
  events: EventRecorder;
  snapshotter: Snapshotter;
  /** The disk file of a bound, populated claim (the provisioner's claimPath). */
  claimPath: (namespace: string, claim: string) => string | undefined;
  log?: (message: string) => void;
  now?: () => Date;
}

/** What restore.ts and clone.ts need of the controller. */
export interface SnapshotContext extends SnapshotControllerOptions {
  now: () => Date;
  /** Looks at `kind:ns/name` again after `ms`. */
  later(key: string, ms: number): void;
}

const WATCHED: readonly KindDefinition[] = [
  virtualMachineSnapshotKind,
  virtualMachineSnapshotContentKind,
  virtualMachineRestoreKind,
  virtualMachineCloneKind,
  virtualMachineInstanceKind,
  virtualMachineKind,
];

export const keyOf = (def: KindDefinition, ns: string, name: string): string => `${def.kind}:${ns}/${name}`;

export class SnapshotController {
  private readonly queue: WorkQueue;
  private readonly ctx: SnapshotContext;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private unsubscribe: () => void = () => undefined;

  constructor(o: SnapshotControllerOptions) {
    const log = o.log ?? (() => undefined);
    this.ctx = { ...o, now: o.now ?? (() => new Date()), later: (key, ms) => this.later(key, ms) };
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) =>
        log(
          `snapshot controller: failed syncing ${key}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      undefined,
      200,
      10_000,
    );
    this.queue.name = 'snapshot-controller';
  }

  start(): void {
    this.unsubscribe = this.ctx.api.watch(WATCHED, (e, def) => {
      if (def === virtualMachineInstanceKind) {
        // A VM that stopped may unblock a restore waiting for it.
        for (const r of this.ctx.api.list<KubeObject>(virtualMachineRestoreKind, e.namespace))
          this.queue.add(keyOf(virtualMachineRestoreKind, e.namespace, r.metadata.name ?? ''));
        return;
      }
      if (def === virtualMachineKind) {
        // A VM that appeared: the snapshots and clones naming it stop waiting.
        for (const s of this.ctx.api.list<VirtualMachineSnapshot>(virtualMachineSnapshotKind, e.namespace))
          if (s.spec.source.name === e.name)
            this.queue.add(keyOf(virtualMachineSnapshotKind, e.namespace, s.metadata.name ?? ''));
        this.requeueAll(virtualMachineCloneKind, e.namespace);
        return;
      }
      this.queue.add(keyOf(def, e.namespace, e.name));
      if (def === virtualMachineSnapshotKind || def === virtualMachineRestoreKind)
        this.requeueAll(virtualMachineCloneKind, e.namespace);
      // A snapshot that appeared or became ready: the restores waiting for it go on.
      if (def === virtualMachineSnapshotKind) this.requeueAll(virtualMachineRestoreKind, e.namespace);
    });
    for (const def of WATCHED.slice(0, 4))
      for (const o of this.ctx.api.list<KubeObject>(def))
        this.queue.add(keyOf(def, o.metadata.namespace ?? '', o.metadata.name ?? ''));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
    for (const t of this.timers.values()) clearTimeout(t);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private requeueAll(def: KindDefinition, namespace: string): void {
    for (const o of this.ctx.api.list<KubeObject>(def, namespace))
      this.queue.add(keyOf(def, namespace, o.metadata.name ?? ''));
  }

  private later(key: string, ms: number): void {
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.queue.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  private async sync(key: string): Promise<void> {
    const [kind = '', rest = ''] = key.split(':');
    const [ns = '', name = ''] = rest.split('/');
    if (kind === virtualMachineSnapshotKind.kind) await this.syncSnapshot(ns, name);
    else if (kind === virtualMachineSnapshotContentKind.kind) await this.syncContent(ns, name);
    else if (kind === virtualMachineRestoreKind.kind) await syncRestore(this.ctx, ns, name);
    else if (kind === virtualMachineCloneKind.kind) syncClone(this.ctx, ns, name);
  }

  private async syncSnapshot(ns: string, name: string): Promise<void> {
    const { api } = this.ctx;
    const snap = api.get<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name);
    if (snap === undefined) return;
    const contentName = contentNameOf(snap.metadata.uid ?? '');
    if (snap.metadata.deletionTimestamp !== undefined) {
      const content = api.get<VirtualMachineSnapshotContent>(
        virtualMachineSnapshotContentKind,
        ns,
        contentName,
      );
      if (content !== undefined && (snap.spec.deletionPolicy ?? 'Delete') === 'Delete') {
        if (content.metadata.deletionTimestamp === undefined)
          api.delete(virtualMachineSnapshotContentKind, ns, contentName);
        return; // the content's deletion requeues the snapshot
      }
      this.releaseVm(snap);
      api.mutate<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name, (s) => {
        const f = s.metadata.finalizers ?? [];
        if (!f.includes(SNAPSHOT_FINALIZER)) return false;
        s.metadata.finalizers = f.filter((x) => x !== SNAPSHOT_FINALIZER);
      });
      return;
    }
    if (!(snap.metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER)) {
      api.mutate<VirtualMachineSnapshot>(virtualMachineSnapshotKind, ns, name, (s) => {
        s.metadata.finalizers = [...(s.metadata.finalizers ?? []), SNAPSHOT_FINALIZER];
      });
      return;
    }
    const phase = snap.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const now = this.ctx.now();
    const deadline = parseDuration(snap.spec.failureDeadline ?? DEFAULT_FAILURE_DEADLINE) ?? 0;
    const started = Date.parse(snap.metadata.creationTimestamp ?? now.toISOString());
    const vm = api.get<VirtualMachine>(virtualMachineKind, ns, snap.spec.source.name);
    const fail = (reason: string, message: string): void => {
      this.setStatus(snap, (st) => {
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
      this.releaseVm(snap);
    };
    if (deadline > 0 && now.getTime() - started > deadline)
      return fail('FailureDeadlineExceeded', 'snapshot deadline exceeded');
    if (vm === undefined && phase === undefined) {
      // Not started yet: as KubeVirt, wait for the VM (applied after its snapshot, say) until the deadline.
      if (deadline > 0)
        this.ctx.later(keyOf(virtualMachineSnapshotKind, ns, name), started + deadline - now.getTime() + 10);
      return this.waitForSource(snap);
    }
    if (vm === undefined)
      return fail('SourceNotFound', `VirtualMachine ${JSON.stringify(snap.spec.source.name)} does not exist`);
    if (phase === undefined) {
      this.setStatus(snap, (st) => {
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
      api.mutate<VirtualMachine>(
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
    const vmi = api.get<VirtualMachineInstance>(virtualMachineInstanceKind, ns, vm.metadata.name ?? '');
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
    const leftover = api.get<VirtualMachineSnapshotContent>(
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
    const backups = included.map((v) => {
      const vsName = volumeSnapshotNameOf(uid, v.name);
      layers[vsName] = taken.layers[v.name] ?? '';
      const pvc = api.get<KubeObject & { spec?: unknown }>(persistentVolumeClaimKind, ns, v.claimName);
      return {
        volumeName: v.name,
        persistentVolumeClaim: {
          metadata: { name: v.claimName, labels: pvc?.metadata.labels ?? {}, annotations: {} },
          spec: (pvc?.spec ?? {}) as Record<string, unknown>,
        },
        volumeSnapshotName: vsName,
      };
    });
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
    const created = leftover ?? api.create(virtualMachineSnapshotContentKind, content);
    // A new object: the one create returns is the store's own, and changing it in place made the
    // status write a no-op, so the content lost its status at the next restart (the chaos test).
    api.updateStatus(virtualMachineSnapshotContentKind, {
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
    this.setStatus(snap, (st) => {
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
    this.releaseVm(snap);
  }

  /** The source VM does not exist yet: conditions and one Event say so. */
  private waitForSource(snap: VirtualMachineSnapshot): void {
    const reason = 'SourceDoesNotExist';
    const message = `waiting for VirtualMachine ${JSON.stringify(snap.spec.source.name)}: it does not exist yet`;
    const progressing = snap.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === reason && progressing.message === message) return;
    const at = this.ctx.now().toISOString();
    this.setStatus(snap, (st) => {
      st.readyToUse = false;
      st.conditions = setCondition(st.conditions, 'Progressing', 'False', reason, message, at);
      st.conditions = setCondition(st.conditions, 'Ready', 'False', reason, message, at);
    });
    this.ctx.events.record(snap, 'Warning', reason, message);
  }

  private setStatus(
    snap: VirtualMachineSnapshot,
    change: (st: NonNullable<VirtualMachineSnapshot['status']>) => void,
  ): void {
    this.ctx.api.mutate<VirtualMachineSnapshot>(
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

  private releaseVm(snap: VirtualMachineSnapshot): void {
    this.ctx.api.mutate<VirtualMachine>(
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

  /** A content being deleted frees its layers, then lets go (and requeues its snapshot). */
  private async syncContent(ns: string, name: string): Promise<void> {
    const { api } = this.ctx;
    const content = api.get<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name);
    if (content === undefined || content.metadata.deletionTimestamp === undefined) return;
    if (!(content.metadata.finalizers ?? []).includes(CONTENT_FINALIZER)) return;
    for (const layer of Object.values(layersOf(content)))
      if (layer !== '') await this.ctx.snapshotter.deleteLayer(layer);
    api.mutate<VirtualMachineSnapshotContent>(virtualMachineSnapshotContentKind, ns, name, (c) => {
      c.metadata.finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== CONTENT_FINALIZER);
    });
    const snapName = content.spec.virtualMachineSnapshotName;
    if (snapName !== undefined) this.queue.add(keyOf(virtualMachineSnapshotKind, ns, snapName));
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
