/**
 * VirtualMachineInstanceReplicaSet on the controller runtime over both transports: it creates the
 * VMIs it lacks (owned by it, labelled from the template), deletes the extra ones when scaled
 * down, freezes while paused, and reports replicas, readyReplicas and its selector.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import {
  virtualMachineInstanceReplicaSetKind as rsKind,
  type VirtualMachineInstanceReplicaSet,
} from '../../../src/api/kubevirt/replicaset.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { kinds } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ReplicaSetController } from '../../../src/controllers/replicaset/controller.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const rs = (replicas: number): VirtualMachineInstanceReplicaSet => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstanceReplicaSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { domain: { devices: {}, memory: { guest: '64Mi' } } },
    },
  },
});

for (const kind of transports) {
  describe(`VMI replica set (${kind.name})`, () => {
    let r: Registry;
    let open: TransportUnderTest;
    let manager: Manager;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      r.create(namespaceKind, '', { metadata: { name: 'default' } });
      open = await kind.open(r, kinds);
      manager = new Manager(open.transport);
      void manager.add(new ReplicaSetController(manager));
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });

    const vmis = (): VirtualMachineInstance[] =>
      r.store
        .list('kubevirt.io/virtualmachineinstances', 'default')
        .items.map((o) => o.object as VirtualMachineInstance)
        .filter((v) => v.metadata.deletionTimestamp === undefined);
    const status = (): VirtualMachineInstanceReplicaSet['status'] =>
      (r.get(rsKind, 'default', 'web').object as VirtualMachineInstanceReplicaSet).status;
    const setReplicas = (n: number, paused = false): void => {
      const current = r.get(rsKind, 'default', 'web').object as VirtualMachineInstanceReplicaSet;
      r.update(rsKind, 'default', 'web', { ...current, spec: { ...current.spec, replicas: n, paused } });
    };

    test('creates owned VMIs up to replicas, deletes extra ones, and reports status', async () => {
      const created = r.create(rsKind, 'default', rs(3)).object;
      await eventually(() => vmis().length === 3 && status()?.replicas === 3, 'three VMIs');
      for (const v of vmis()) {
        assert.equal(v.metadata.labels?.['app'], 'web');
        assert.equal(v.metadata.ownerReferences?.[0]?.uid, created.metadata.uid);
        assert.match(v.metadata.name ?? '', /^web/);
      }
      assert.equal(status()?.readyReplicas, 0);
      assert.equal(status()?.labelSelector, 'app=web');
      setReplicas(1);
      await eventually(() => vmis().length === 1 && status()?.replicas === 1, 'scaled down to one');
    });

    test('more replicas than one burst: created in batches until all are there', async () => {
      r.create(rsKind, 'default', rs(45));
      await eventually(() => vmis().length === 45 && status()?.replicas === 45, 'forty-five VMIs');
    });

    test('paused: neither creates nor deletes', async () => {
      r.create(rsKind, 'default', rs(2));
      await eventually(() => vmis().length === 2, 'two VMIs');
      setReplicas(4, true);
      await eventually(() => status()?.replicas === 2, 'status while paused');
      assert.equal(vmis().length, 2);
      setReplicas(4, false);
      await eventually(() => vmis().length === 4, 'four once unpaused');
    });

    test('a template whose labels miss the selector is refused with a cause', () => {
      const bad = rs(1);
      bad.spec.template.metadata = { labels: { app: 'other' } };
      assert.throws(
        () => r.create(rsKind, 'default', bad),
        (err: unknown) =>
          (err as { details?: { causes?: { path: string }[] } }).details?.causes?.[0]?.path ===
          'spec.template.metadata.labels',
      );
    });
  });
}
