/**
 * The CRD controller over a real SQLite store: stored CRDs are served at start, one that no
 * longer loads is reported and skipped (start-up goes on), a plural already served is refused
 * through the NamesAccepted condition, and deleting a CRD deletes its objects first.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { customResourceDefinitionKind } from '../../../src/api/crd/crd.js';
import { kinds } from '../../../src/api/registry.js';
import { CrdController } from '../../../src/apiserver/crds.js';
import { Registry, resourceKey } from '../../../src/apiserver/registry.js';
import { ServedKinds } from '../../../src/apiserver/served-kinds.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

const crd = (plural: string, group: string, kind: string): Record<string, unknown> => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, kind },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { n: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
});

interface CrdStatus {
  conditions?: { type: string; status: string; reason: string }[];
}
const condition = (r: Registry, name: string, type: string): string | undefined =>
  (
    (r.get(customResourceDefinitionKind, '', name).object['status'] as CrdStatus | undefined)?.conditions ??
    []
  ).find((c) => c.type === type)?.status;

const reason = (r: Registry, name: string, type: string): string | undefined =>
  (
    (r.get(customResourceDefinitionKind, '', name).object['status'] as CrdStatus | undefined)?.conditions ??
    []
  ).find((c) => c.type === type)?.reason;

let registry: Registry;
let served: ServedKinds;
let logged: string[];
beforeEach(() => {
  registry = new Registry(new SqliteStore({ path: ':memory:' }));
  registry.create(
    kinds.find((k) => k.kind === 'Namespace')!,
    '',
    { metadata: { name: 'default' } },
  );
  served = new ServedKinds(kinds);
  logged = [];
});
const served1 = (plural: string): boolean => served.all().some((k) => k.plural === plural);

describe('CRD controller', () => {
  test('serves stored CRDs at start and skips one that no longer loads', async () => {
    registry.create(customResourceDefinitionKind, '', crd('widgets', 'example.test', 'Widget'));
    // Written as an older server might have accepted it: straight into the store, no checks.
    const broken = crd('gadgets', 'example.test', 'Gadget');
    (broken['spec'] as { versions: unknown }).versions = 'not a list';
    registry.store.create(resourceKey(customResourceDefinitionKind), broken as never);
    const controller = new CrdController(registry, served, (l) => logged.push(l));
    controller.start();
    try {
      assert.ok(served1('widgets'));
      assert.ok(!served1('gadgets'));
      assert.match(
        logged.join('\n'),
        /gadgets.example.test could not be loaded|gadgets.example.test is not served/,
      );
      await eventually(
        () => condition(registry, 'widgets.example.test', 'Established') === 'True',
        'Established',
      );
    } finally {
      controller.stop();
    }
  });

  test('a plural already served in the group is not accepted', async () => {
    const controller = new CrdController(registry, served);
    controller.start();
    try {
      registry.create(
        customResourceDefinitionKind,
        '',
        crd('virtualmachines', 'kubevirt.io', 'VirtualMachine'),
      );
      await eventually(
        () => condition(registry, 'virtualmachines.kubevirt.io', 'NamesAccepted') === 'False',
        'refused',
      );
      assert.equal(condition(registry, 'virtualmachines.kubevirt.io', 'Established'), 'False');
      assert.equal(served.crdServing('kubevirt.io', 'virtualmachines'), undefined);
      registry.create(customResourceDefinitionKind, '', crd('vmachines', 'kubevirt.io', 'VirtualMachine'));
      await eventually(
        () => reason(registry, 'vmachines.kubevirt.io', 'NamesAccepted') === 'KindConflict',
        'a kind already served in the group refused',
      );
    } finally {
      controller.stop();
    }
  });

  test('deleting a CRD deletes its objects, then the CRD, then stops serving the kind', async () => {
    const controller = new CrdController(registry, served);
    controller.start();
    try {
      registry.create(customResourceDefinitionKind, '', crd('widgets', 'example.test', 'Widget'));
      const def = served.all().find((k) => k.plural === 'widgets')!;
      registry.create(def, 'default', { metadata: { name: 'w' }, spec: { n: 1 } });
      registry.delete(customResourceDefinitionKind, '', 'widgets.example.test');
      await eventually(
        () =>
          registry.store.get(resourceKey(customResourceDefinitionKind), '', 'widgets.example.test') ===
          undefined,
        'the CRD gone',
      );
      assert.equal(registry.store.list(resourceKey(def)).items.length, 0);
      assert.ok(!served1('widgets'));
    } finally {
      controller.stop();
    }
  });

  test('a terminating namespace loses its custom resources', async () => {
    const controller = new CrdController(registry, served);
    controller.start();
    try {
      const nsDef = kinds.find((k) => k.kind === 'Namespace')!;
      registry.create(nsDef, '', { metadata: { name: 'team' } });
      registry.create(customResourceDefinitionKind, '', crd('widgets', 'example.test', 'Widget'));
      const def = served.all().find((k) => k.plural === 'widgets')!;
      registry.create(def, 'team', { metadata: { name: 'w' }, spec: { n: 1 } });
      registry.create(def, 'default', { metadata: { name: 'kept' }, spec: { n: 1 } });
      registry.delete(nsDef, '', 'team');
      await eventually(
        () => registry.store.list(resourceKey(def), 'team').items.length === 0,
        'team emptied',
      );
      assert.equal(registry.store.list(resourceKey(def), 'default').items.length, 1);
    } finally {
      controller.stop();
    }
  });
});
