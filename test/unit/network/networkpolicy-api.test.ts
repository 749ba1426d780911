/**
 * NetworkPolicy admission against kube-apiserver's rules: one table of specs and the causes they
 * get (path and reason), the server-side defaults (TCP, policyTypes), and a round trip through
 * the Registry: a bad policy is refused with every cause, a good one is stored defaulted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import type { FieldError } from '../../../src/api/kind.js';
import { isStrictSubset, parseAnyCidr } from '../../../src/api/network/cidr.js';
import {
  networkPolicyKind,
  type NetworkPolicy,
  type NetworkPolicySpec,
} from '../../../src/api/network/networkpolicy.js';
import {
  defaultNetworkPolicy,
  validateNetworkPolicy,
} from '../../../src/api/network/networkpolicy-validation.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { renderTable } from '../../../src/apiserver/tables.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

const policy = (spec: NetworkPolicySpec): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace: 'default' },
  spec,
});
const causes = (errors: FieldError[]): string[] =>
  errors.map((e) => `${e.path}: ${e.reason ?? 'FieldValueInvalid'}`);

describe('NetworkPolicy admission', () => {
  const cases: [string, NetworkPolicySpec, string[]][] = [
    ['deny all', { podSelector: {} }, []],
    [
      'a full policy',
      {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} },
              { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
            ],
            ports: [{ port: 5432 }, { port: 'metrics', protocol: 'UDP' }, { port: 8000, endPort: 8100 }],
          },
        ],
        egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }] }],
        policyTypes: ['Ingress', 'Egress'],
      },
      [],
    ],
    ['an empty peer', { ingress: [{ from: [{}] }] }, ['spec.ingress[0].from[0]: FieldValueRequired']],
    [
      'ipBlock beside a selector',
      { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      ['spec.egress[0].to[0]: FieldValueForbidden'],
    ],
    [
      'bad CIDRs and an except outside or equal to the block',
      {
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '10.0.0.0/33' } },
              {
                ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24', '10.0.0.0/16', 'x', '10.0.5.0/24'] },
              },
              { ipBlock: { cidr: '' } },
            ],
          },
        ],
      },
      [
        'spec.ingress[0].from[0].ipBlock.cidr: FieldValueInvalid',
        'spec.ingress[0].from[1].ipBlock.except[0]: FieldValueInvalid',
        'spec.ingress[0].from[1].ipBlock.except[1]: FieldValueInvalid',
        'spec.ingress[0].from[1].ipBlock.except[2]: FieldValueInvalid',
        'spec.ingress[0].from[2].ipBlock.cidr: FieldValueRequired',
      ],
    ],
    [
      'bad ports',
      {
        ingress: [
          {
            ports: [
              { port: 0 },
              { port: 70000 },
              { port: 'Web_Port' },
              { port: '8080' },
              { port: 'a--b' },
              { port: 'this-name-is-too-long' },
            ],
          },
        ],
      },
      [0, 1, 2, 3, 4, 5].map((i) => `spec.ingress[0].ports[${i}].port: FieldValueInvalid`),
    ],
    [
      'endPort rules',
      {
        egress: [
          {
            ports: [
              { endPort: 90 },
              { port: 'http', endPort: 90 },
              { port: 100, endPort: 90 },
              { port: 100, endPort: 70000 },
              { port: 100, endPort: 100 },
            ],
          },
        ],
      },
      [
        'spec.egress[0].ports[0].port: FieldValueRequired',
        'spec.egress[0].ports[1].endPort: FieldValueForbidden',
        'spec.egress[0].ports[2].endPort: FieldValueInvalid',
        'spec.egress[0].ports[3].endPort: FieldValueInvalid',
      ],
    ],
    [
      'bad selectors',
      {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'bad key!': 'x' } } }] }],
      },
      ['spec.podSelector: FieldValueInvalid', 'spec.ingress[0].from[0].namespaceSelector: FieldValueInvalid'],
    ],
    [
      'three policy types',
      { policyTypes: ['Ingress', 'Egress', 'Ingress'] },
      ['spec.policyTypes: FieldValueInvalid'],
    ],
  ];
  for (const [name, spec, expected] of cases)
    test(name, () => assert.deepEqual(causes(validateNetworkPolicy(policy(spec))), expected));
});

describe('NetworkPolicy defaults', () => {
  test('policyTypes is Ingress, plus Egress with egress rules; ports default to TCP', () => {
    const a = policy({ ingress: [{ ports: [{ port: 80 }] }] });
    defaultNetworkPolicy(a);
    assert.deepEqual(a.spec?.policyTypes, ['Ingress']);
    assert.deepEqual(a.spec?.ingress?.[0]?.ports?.[0], { port: 80, protocol: 'TCP' });
    assert.deepEqual(a.spec?.podSelector, {});
    const b = policy({ egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    defaultNetworkPolicy(b);
    assert.deepEqual(b.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.equal(b.spec?.egress?.[0]?.ports?.[0]?.protocol, 'UDP');
    const c = policy({ egress: [{}], policyTypes: ['Egress'] });
    defaultNetworkPolicy(c);
    assert.deepEqual(c.spec?.policyTypes, ['Egress']);
  });

  test('CIDR subsets hold for both families', () => {
    const p = (t: string) => parseAnyCidr(t) ?? assert.fail(t);
    assert.ok(isStrictSubset(p('10.1.2.0/24'), p('10.1.0.0/16')));
    assert.ok(!isStrictSubset(p('10.2.0.0/24'), p('10.1.0.0/16')));
    assert.ok(isStrictSubset(p('2001:db8:0:1::/64'), p('2001:db8::/32')));
    assert.ok(!isStrictSubset(p('2001:db9::/64'), p('2001:db8::/32')));
    assert.equal(parseAnyCidr('10.1.2.3/16')?.network, parseAnyCidr('10.1.0.0/16')?.network);
    assert.equal(parseAnyCidr('10.0.0.0'), undefined);
  });
});

describe('NetworkPolicy through the Registry', () => {
  const registry = new Registry(new SqliteStore({ path: ':memory:' }), { now: () => new Date() });
  registry.create(namespaceKind, '', { metadata: { name: 'default' } });

  test('a bad policy is refused with one cause per field', () => {
    assert.throws(
      () =>
        registry.create(networkPolicyKind, 'default', {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'bad' },
          spec: { ingress: [{ from: [{}], ports: [{ port: 0 }] }] },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.reason, 'Invalid');
        assert.deepEqual(
          (err.details.causes ?? []).map((c) => c.path),
          ['spec.ingress[0].ports[0].port', 'spec.ingress[0].from[0]'],
        );
        return true;
      },
    );
  });

  test('a good policy is stored with its defaults and printed as kubectl does', () => {
    const { object } = registry.create(networkPolicyKind, 'default', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db' },
      spec: {
        podSelector: { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
        egress: [{ ports: [{ port: 53 }] }],
      },
    });
    const stored = object as unknown as NetworkPolicy;
    assert.deepEqual(stored.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.equal(stored.spec?.egress?.[0]?.ports?.[0]?.protocol, 'TCP');
    const table = renderTable(networkPolicyKind, [object], '1', 'None', new Date()) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    };
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Pod-Selector', 'Age'],
    );
    assert.deepEqual(table.rows[0]?.cells.slice(0, 2), ['db', 'app=db,tier']);
    const all = renderTable(
      networkPolicyKind,
      [{ ...object, spec: { podSelector: {} } }],
      '1',
      'None',
      new Date(),
    ) as { rows: { cells: unknown[] }[] };
    assert.equal(all.rows[0]?.cells[1], '<none>');
  });
});
