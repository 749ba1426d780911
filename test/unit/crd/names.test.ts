/**
 * CRD names against what is served: the naming rules as a table (same group: every name and kind
 * of another resource; other groups: a plural or singular that is a short name there), and the
 * controller keeping a name with the CRD that held it first, across restarts and deletions.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { customResourceDefinitionKind, type CustomResourceDefinition } from '../../../src/api/crd/crd.js';
import { customKinds } from '../../../src/api/crd/custom-kinds.js';
import { kinds } from '../../../src/api/registry.js';
import { namesConflict, servingOrder } from '../../../src/apiserver/crd-names.js';
import { CrdController } from '../../../src/apiserver/crds.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ServedKinds } from '../../../src/apiserver/served-kinds.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { eventually } from '../../support/wait.js';

interface Names {
  plural: string;
  kind: string;
  singular?: string;
  listKind?: string;
  shortNames?: string[];
}

const crd = (group: string, names: Names, created = ''): CustomResourceDefinition =>
  ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${group}`, ...(created !== '' ? { creationTimestamp: created } : {}) },
    spec: {
      group,
      scope: 'Namespaced',
      names,
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  }) as unknown as CustomResourceDefinition;

const gizmos = customKinds(crd('example.test', { plural: 'gizmos', kind: 'Gizmo', shortNames: ['gz'] }));
const served = [...kinds, ...gizmos];

describe('CRD names against the served kinds', () => {
  const cases: { name: string; group: string; names: Names; reason?: string; message?: RegExp }[] = [
    {
      name: 'fresh names',
      group: 'example.test',
      names: { plural: 'widgets', kind: 'Widget', shortNames: ['wd'] },
    },
    {
      name: 'plural of another CRD in the group',
      group: 'example.test',
      names: { plural: 'gizmos', kind: 'Other' },
      reason: 'PluralConflict',
    },
    {
      name: 'plural that is a short name in the group',
      group: 'example.test',
      names: { plural: 'gz', kind: 'Other' },
      reason: 'PluralConflict',
    },
    {
      name: 'singular of another resource in the group',
      group: 'example.test',
      names: { plural: 'others', singular: 'gizmo', kind: 'Other' },
      reason: 'SingularConflict',
    },
    {
      name: 'short name in the group',
      group: 'example.test',
      names: { plural: 'others', kind: 'Other', shortNames: ['ot', 'gz'] },
      reason: 'ShortNamesConflict',
      message: /^"gz" is already in use$/,
    },
    {
      name: 'kind in the group',
      group: 'example.test',
      names: { plural: 'others', kind: 'Gizmo' },
      reason: 'KindConflict',
    },
    {
      name: 'list kind in the group',
      group: 'example.test',
      names: { plural: 'others', kind: 'Other', listKind: 'GizmoList' },
      reason: 'ListKindConflict',
    },
    {
      name: 'a built-in plural in its own group',
      group: 'kubevirt.io',
      names: { plural: 'virtualmachines', kind: 'Machine' },
      reason: 'PluralConflict',
    },
    {
      name: 'a built-in short name in its own group',
      group: 'kubevirt.io',
      names: { plural: 'machines', kind: 'Machine', shortNames: ['vmi'] },
      reason: 'ShortNamesConflict',
    },
    {
      name: "a plural that is another group's short name (kubectl get vm would switch)",
      group: 'other.test',
      names: { plural: 'vm', kind: 'Vm' },
      reason: 'PluralConflict',
      message: /"vm" is already in use as a short name of virtualmachines.kubevirt.io/,
    },
    {
      name: "a singular that is another group's short name",
      group: 'other.test',
      names: { plural: 'cmaps', singular: 'cm', kind: 'Cmap' },
      reason: 'SingularConflict',
      message: /short name of configmaps/,
    },
    {
      name: 'a short name used in another group is accepted, as upstream',
      group: 'other.test',
      names: { plural: 'vmachines', kind: 'VMachine', shortNames: ['vm', 'gz'] },
    },
    {
      name: 'the same plural and kind in another group',
      group: 'other.test',
      names: { plural: 'gizmos', kind: 'Gizmo' },
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const got = namesConflict(crd(c.group, c.names), served);
      assert.equal(got?.reason, c.reason, JSON.stringify(got));
      if (c.message !== undefined) assert.match(got?.message ?? '', c.message);
    });

  test('stored CRDs are served accepted first, then oldest first', () => {
    const a = crd('x.test', { plural: 'as', kind: 'A' }, '2026-01-02T00:00:00Z');
    const b = crd('x.test', { plural: 'bs', kind: 'B' }, '2026-01-01T00:00:00Z');
    const c = { ...crd('x.test', { plural: 'cs', kind: 'C' }, '2026-01-03T00:00:00Z') };
    c.status = { conditions: [{ type: 'NamesAccepted', status: 'True' }] };
    assert.deepEqual(
      servingOrder([a, b, c]).map((x) => x.metadata.name),
      ['cs.x.test', 'bs.x.test', 'as.x.test'],
    );
  });
});

describe('CRD controller keeps a name with the CRD that held it first', () => {
  let registry: Registry;
  let servedKinds: ServedKinds;
  beforeEach(() => {
    registry = new Registry(new SqliteStore({ path: ':memory:' }));
    servedKinds = new ServedKinds(kinds);
  });
  const accepted = (name: string): string | undefined =>
    (
      (
        registry.get(customResourceDefinitionKind, '', name).object['status'] as
          { conditions?: { type: string; status: string; reason: string }[] } | undefined
      )?.conditions ?? []
    )
      .filter((c) => c.type === 'NamesAccepted')
      .map((c) => `${c.status} ${c.reason}`)[0];
  const servedBy = (kind: string): string | undefined =>
    servedKinds.all().find((d) => d.group === 'x.test' && d.kind === kind)?.plural;

  test('the later CRD is refused, stays refused after a restart, and is served once the first goes', async () => {
    // "zs" is made first, "as" second: name order would favour the second at start.
    const first = crd('x.test', { plural: 'zs', kind: 'Thing', shortNames: ['th'] });
    const second = crd('x.test', { plural: 'as', kind: 'Thing' });
    let controller = new CrdController(registry, servedKinds);
    controller.start();
    registry.create(customResourceDefinitionKind, '', first);
    await eventually(() => accepted('zs.x.test') === 'True NoConflicts', 'the first CRD accepted');
    registry.create(customResourceDefinitionKind, '', second);
    await eventually(() => accepted('as.x.test') === 'False KindConflict', 'the second refused');
    assert.equal(servedBy('Thing'), 'zs');
    controller.stop();

    servedKinds = new ServedKinds(kinds);
    controller = new CrdController(registry, servedKinds);
    controller.start();
    try {
      assert.equal(servedBy('Thing'), 'zs', 'the restart kept the name with the first CRD');
      await eventually(() => accepted('as.x.test') === 'False KindConflict', 'the second still refused');
      registry.delete(customResourceDefinitionKind, '', 'zs.x.test');
      await eventually(() => servedBy('Thing') === 'as', 'the second CRD served once the first is gone');
      await eventually(() => accepted('as.x.test') === 'True NoConflicts', 'the second accepted');
    } finally {
      controller.stop();
    }
  });
});
