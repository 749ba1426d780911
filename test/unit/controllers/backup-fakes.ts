/**
 * Fakes of the backup controllers' ports for their controller tests (the real executor and
 * repository have their own tests and the backup e2e): a node executor that records points,
 * releases and restore sinks, and a repository that records writes and deletes, can fail, and can
 * hold a write until released (to stop the platform mid-run).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach } from 'node:test';
import type { DiskSink, DiskSource } from '../../../src/backup/types.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { persistentVolumeClaimKind } from '../../../src/api/core/core.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { BackupController } from '../../../src/controllers/backup/controller.js';
import type { Resolve } from '../../../src/controllers/backup/endpoint.js';
import { ensureDefaultBackupClass } from '../../../src/platform/backups.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { virtualMachineKind, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import type {
  ArtifactRepository,
  Repositories,
  BackupExecutor,
  BackupPoint,
  BackupPointRequest,
  WriteResult,
} from '../../../src/controllers/backup/ports.js';

export const NS = 'default';
export const B = 'backups.cozystack.io/v1alpha1';

export class FakeExecutor implements BackupExecutor {
  points: BackupPointRequest[] = [];
  released: string[] = [];
  closed = 0;
  sinks: { path: string; format: string; virtualSize: number; writes: number; finished: boolean }[] = [];
  takePoint(req: BackupPointRequest): Promise<BackupPoint> {
    this.points.push(req);
    const n = this.points.length;
    const disks: DiskSource[] = req.volumes.map((v) => ({
      name: v.name,
      virtualSize: 1 << 20,
      changed: [{ offset: 0, length: 4096, zero: false }],
      full: req.previous === undefined,
      ...(req.previous === undefined ? { fullReason: 'first backup' } : {}),
      reader: { read: (_o, l) => Promise.resolve(Buffer.alloc(l, n)), close: () => Promise.resolve() },
    }));
    return Promise.resolve({
      boundary: Object.fromEntries(req.volumes.map((v) => [v.name, `${v.path}.b${n}`])),
      disks,
      indications: [],
      close: () => {
        this.closed++;
        return Promise.resolve();
      },
    });
  }
  releaseBoundary(layer: string): Promise<void> {
    this.released.push(layer);
    return Promise.resolve();
  }
  openRestoreSink(t: { path: string; format: 'qcow2' | 'raw'; virtualSize: number }): Promise<DiskSink> {
    const s = { ...t, writes: 0, finished: false };
    this.sinks.push(s);
    return Promise.resolve({
      write: () => {
        s.writes++;
        return Promise.resolve();
      },
      finish: () => {
        // As the real sink: finished once (the repository finishes it, not the controller).
        if (s.finished) return Promise.reject(new Error(`restoring ${t.path}: the sink is closed`));
        s.finished = true;
        return Promise.resolve();
      },
      abort: () => Promise.resolve(),
    });
  }
}

export class FakeRepository implements ArtifactRepository {
  writes: { key: string; previous?: string; disks: string[] }[] = [];
  deleted: string[] = [];
  failWith: string | undefined;
  /** Holds writes until it resolves; then a write whose signal was aborted fails as the real one. */
  gate: Promise<void> | undefined;
  waiting = false;
  async write(req: Parameters<ArtifactRepository['write']>[0]): Promise<WriteResult> {
    if (this.gate !== undefined) {
      this.waiting = true;
      await this.gate;
      req.signal?.throwIfAborted();
    }
    if (this.failWith !== undefined) throw new Error(this.failWith);
    this.writes.push({
      key: req.key,
      ...(req.previous ? { previous: req.previous } : {}),
      disks: req.disks.map((d) => d.name),
    });
    return {
      uri: `file:///backups/${req.key}.json`,
      size: 4096,
      logicalSize: 1 << 20,
      checksum: 'sha256:00',
      chunksSent: 1,
      chunksReused: 0,
    };
  }
  async restoreDisk(_key: string, _disk: string, sink: DiskSink): Promise<void> {
    await sink.write(0, Buffer.alloc(4096, 1));
    await sink.finish(); // as the real repository does
  }
  delete(key: string): Promise<void> {
    this.deleted.push(key);
    return Promise.resolve();
  }
}

/** A VirtualMachine with a PVC data disk (and its VMI when running). */
export function makeVmIn(api: ApiClient, name: string, running: boolean): void {
  api.create(persistentVolumeClaimKind, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${name}-data`, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  api.create<VirtualMachine>(virtualMachineKind, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: {
      runStrategy: running ? 'Always' : 'Halted',
      template: {
        spec: {
          domain: { memory: { guest: '128Mi' }, devices: {} },
          volumes: [
            { name: 'root', containerDisk: { image: 'hikube/tiny' } },
            { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
          ],
        },
      },
    },
  } as unknown as VirtualMachine);
  if (running)
    api.create(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name, namespace: NS },
      spec: { domain: { memory: { guest: '128Mi' }, devices: {} } },
    });
}

/** What a test file's hooks set up afresh for each test: a Registry, the controller, its fakes. */
export interface BackupHarness {
  api: ApiClient;
  controller: BackupController;
  executor: FakeExecutor;
  repo: FakeRepository;
  /** The controller's clock: tests move it. */
  now: Date;
  log: string[];
  /** How S3 endpoint names resolve (default: no name resolves). */
  resolve: Resolve;
  /** The repositories jobs use (default: always `repo`); a test may set real ones. */
  repositories?: Repositories;
}

/** Registers beforeEach/afterEach hooks that build and tear down a BackupHarness. */
export function useBackupHarness(): BackupHarness {
  const h = { log: [] as string[] } as unknown as BackupHarness;
  let store: SqliteStore;
  let manager: Manager;
  beforeEach(async () => {
    store = new SqliteStore({ path: ':memory:' });
    h.now = new Date('2026-01-01T00:00:30Z');
    const registry = new Registry(store, { now: () => h.now });
    const nsDef = findKindByGvk('v1', 'Namespace');
    assert.ok(nsDef);
    registry.create(nsDef, '', { metadata: { name: NS } });
    ensureDefaultBackupClass(registry, '/data');
    const api = new ApiClient(registry);
    h.api = api;
    h.executor = new FakeExecutor();
    h.repo = new FakeRepository();
    delete h.repositories;
    h.log.length = 0;
    h.resolve = (host) => Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
    manager = new Manager(new RegistryTransport(registry));
    h.controller = new BackupController({
      manager,
      events: recorderFor(manager, 'backup-controller', 'node', () => h.now),
      executor: h.executor,
      repositories: (spec, credentials) =>
        h.repositories !== undefined ? h.repositories(spec, credentials) : h.repo,
      claimPath: (ns, claim) =>
        api.get(persistentVolumeClaimKind, ns, claim) !== undefined ||
        api.get(dataVolumeKind, ns, claim) !== undefined
          ? `/pool/${ns}/${claim}.qcow2`
          : undefined,
      targets: { allowPrivateTargets: false },
      localDirs: ['/data/backups'],
      resolve: (host) => h.resolve(host),
      now: () => h.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
      log: (m) => h.log.push(m),
    });
    void manager.add(h.controller);
    await manager.start();
  });
  afterEach(async () => {
    await h.controller.settled();
    manager.stop();
    store.close();
  });
  return h;
}
