/**
 * Kubernetes NetworkPolicy semantics on the compiler's model: one table of (policies, packet,
 * verdict) over a fixed set of pods in two namespaces: default allow, isolation per direction,
 * the union of policies, empty and combined selectors, ipBlock with except, port ranges, named
 * ports, the node and a pod's own address. Then the rendering of the model as an nft script.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkPolicy, NetworkPolicySpec } from '../../../src/api/network/networkpolicy.js';
import {
  computeVerdicts,
  permits,
  type Packet,
  type PolicyNamespace,
  type PolicyPod,
} from '../../../src/network/policy/model.js';
import { renderPolicyRuleset } from '../../../src/network/policy/render.js';

const NODE = '10.244.0.1';
const pods: PolicyPod[] = [
  {
    namespace: 'a',
    name: 'web',
    labels: { app: 'web' },
    ip: '10.244.0.2',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  },
  { namespace: 'a', name: 'db', labels: { app: 'db' }, ip: '10.244.0.3', ports: [] },
  { namespace: 'a', name: 'cli', labels: { app: 'cli' }, ip: '10.244.0.4', ports: [] },
  { namespace: 'b', name: 'other', labels: { app: 'web' }, ip: '10.244.0.5', ports: [] },
  {
    namespace: 'b',
    name: 'tool',
    labels: { app: 'cli' },
    ip: '10.244.0.6',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  },
];
const namespaces: PolicyNamespace[] = [
  { name: 'a', labels: { team: 'blue' } },
  { name: 'b', labels: { team: 'red' } },
];
const ip = (name: string): string => pods.find((p) => p.name === name)?.ip ?? name;
const pol = (namespace: string, spec: NetworkPolicySpec, name = 'p'): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const app = (value: string) => ({ matchLabels: { app: value } });
const tcp = (src: string, dst: string, port = 80): Packet => ({
  src: ip(src),
  dst: ip(dst),
  protocol: 'TCP',
  port,
});

const denyIngress = pol('a', { podSelector: {} });
const fromCli = pol('a', { podSelector: app('web'), ingress: [{ from: [{ podSelector: app('cli') }] }] });

/** [case, policies, packet, allowed] */
const cases: [string, NetworkPolicy[], Packet, boolean][] = [
  ['no policy: allowed', [], tcp('cli', 'web'), true],
  ['no policy across namespaces: allowed', [], tcp('tool', 'web'), true],
  ['deny-all ingress blocks a peer', [denyIngress], tcp('cli', 'web'), false],
  ['deny-all ingress leaves the other namespace open', [denyIngress], tcp('web', 'other'), true],
  ['deny-all ingress lets the node in', [denyIngress], tcp(NODE, 'web'), true],
  ['deny-all ingress lets a pod reach itself', [denyIngress], tcp('web', 'web'), true],
  ['deny-all ingress does not isolate egress', [denyIngress], tcp('web', 'other'), true],
  ['allow from a label: that pod passes', [fromCli], tcp('cli', 'web'), true],
  ['allow from a label: another pod is blocked', [fromCli], tcp('db', 'web'), false],
  ['allow from a label: unselected pods stay open', [fromCli], tcp('cli', 'db'), true],
  ['a podSelector peer is the policy namespace only', [fromCli], tcp('tool', 'web'), false],
  [
    'namespaceSelector alone: every pod of those namespaces',
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }] }],
      }),
    ],
    tcp('other', 'web'),
    true,
  ],
  [
    'namespaceSelector alone: not the own namespace',
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }] }],
      }),
    ],
    tcp('cli', 'web'),
    false,
  ],
  [
    'namespace by its name label',
    [
      pol('a', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } } }] }],
      }),
    ],
    tcp('tool', 'db'),
    true,
  ],
  [
    'both selectors in one peer: AND',
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: app('cli') }] }],
      }),
    ],
    tcp('other', 'web'),
    false,
  ],
  [
    'both selectors in one peer: a match in another namespace',
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: app('cli') }] }],
      }),
    ],
    tcp('tool', 'web'),
    true,
  ],
  [
    'two peers: OR',
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }, { podSelector: app('db') }] },
        ],
      }),
    ],
    tcp('db', 'web'),
    true,
  ],
  [
    'union of policies',
    [fromCli, pol('a', { podSelector: app('web'), ingress: [{ from: [{ podSelector: app('db') }] }] }, 'q')],
    tcp('db', 'web'),
    true,
  ],
  [
    'an empty ingress rule allows all',
    [pol('a', { podSelector: {}, ingress: [{}] })],
    tcp('tool', 'web', 9),
    true,
  ],
  [
    'an empty from list allows all sources',
    [pol('a', { podSelector: {}, ingress: [{ from: [], ports: [{ port: 80 }] }] })],
    tcp('other', 'web'),
    true,
  ],
  [
    'matchExpressions NotIn',
    [
      pol('a', {
        podSelector: {},
        ingress: [
          {
            from: [
              { podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['cli'] }] } },
            ],
          },
        ],
      }),
    ],
    tcp('cli', 'db'),
    false,
  ],
  ...(['172.31.0.9', '172.31.5.1', '172.32.0.1'] as const).map(
    (src, i): [string, NetworkPolicy[], Packet, boolean] => [
      `ipBlock with except: ${src}`,
      [
        pol('a', {
          podSelector: {},
          ingress: [{ from: [{ ipBlock: { cidr: '172.31.0.0/16', except: ['172.31.5.0/24'] } }] }],
        }),
      ],
      tcp(src, 'web'),
      i === 0,
    ],
  ),
  ...(
    [
      [80, 'TCP', true],
      [81, 'TCP', false],
      [80, 'UDP', false],
      [8050, 'TCP', true],
      [8101, 'TCP', false],
    ] as const
  ).map(([port, protocol, allowed]): [string, NetworkPolicy[], Packet, boolean] => [
    `ports 80/TCP and 8000-8100: ${port}/${protocol}`,
    [
      pol('a', {
        podSelector: app('web'),
        ingress: [{ ports: [{ port: 80 }, { port: 8000, endPort: 8100, protocol: 'TCP' }] }],
      }),
    ],
    { src: ip('cli'), dst: ip('web'), protocol, port },
    allowed,
  ]),
  [
    'a protocol without port: every port of it',
    [pol('a', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
    { src: ip('cli'), dst: ip('db'), protocol: 'UDP', port: 5353 },
    true,
  ],
  [
    'a port rule blocks ICMP',
    [pol('a', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
    { src: ip('cli'), dst: ip('db'), protocol: 'ICMP' },
    false,
  ],
  [
    'named ingress port resolves on the pod',
    [pol('a', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })],
    tcp('cli', 'web', 80),
    true,
  ],
  [
    'named ingress port on a pod without it: nothing',
    [pol('a', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })],
    tcp('cli', 'db', 80),
    false,
  ],
  [
    'egress deny blocks the pod sending',
    [pol('a', { podSelector: app('cli'), policyTypes: ['Egress'] })],
    tcp('cli', 'other'),
    false,
  ],
  [
    'egress deny leaves the node reachable',
    [pol('a', { podSelector: app('cli'), policyTypes: ['Egress'] })],
    tcp('cli', NODE),
    true,
  ],
  [
    'egress deny does not isolate ingress',
    [pol('a', { podSelector: app('cli'), policyTypes: ['Egress'] })],
    tcp('db', 'cli'),
    true,
  ],
  [
    'egress rules without policyTypes also isolate ingress',
    [pol('a', { podSelector: app('cli'), egress: [{ to: [{ podSelector: app('web') }] }] })],
    tcp('db', 'cli'),
    false,
  ],
  [
    'egress to a label: allowed',
    [pol('a', { podSelector: app('cli'), egress: [{ to: [{ podSelector: app('web') }] }] })],
    tcp('cli', 'web'),
    true,
  ],
  [
    'egress to a label: others blocked',
    [pol('a', { podSelector: app('cli'), egress: [{ to: [{ podSelector: app('web') }] }] })],
    tcp('cli', 'db'),
    false,
  ],
  [
    'policyTypes Egress ignores ingress rules',
    [pol('a', { podSelector: {}, ingress: [], policyTypes: ['Egress'], egress: [{}] })],
    tcp('tool', 'web'),
    true,
  ],
  ...(
    [
      ['web', 80, true],
      ['tool', 8080, true],
      ['tool', 80, false],
      ['db', 80, false],
    ] as const
  ).map(([dst, port, allowed]): [string, NetworkPolicy[], Packet, boolean] => [
    `named egress port resolves on the destination: ${dst}:${port}`,
    [pol('a', { podSelector: app('cli'), policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })],
    tcp('cli', dst, port),
    allowed,
  ]),
  [
    'egress ipBlock',
    [
      pol('a', {
        podSelector: app('cli'),
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '172.31.0.0/16' } }] }],
      }),
    ],
    tcp('cli', '172.31.1.1'),
    true,
  ],
  [
    'egress and ingress both apply',
    [pol('a', { podSelector: app('cli'), policyTypes: ['Egress'], egress: [{}] }), denyIngress],
    tcp('cli', 'web'),
    false,
  ],
  ...(
    [
      ['db', true],
      ['tool', false],
      ['172.31.1.1', true],
    ] as const
  ).map(([dst, allowed]): [string, NetworkPolicy[], Packet, boolean] => [
    `a tenant's isolation (own namespace and the outside, not other tenants): ${dst}`,
    [
      pol('a', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: {} }] },
          { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16'] } }] },
        ],
      }),
    ],
    tcp('cli', dst),
    allowed,
  ]),
  [
    'a bad selector that slipped past admission selects nothing (no throw)',
    [pol('a', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } })],
    tcp('cli', 'web'),
    true,
  ],
  [
    'a policy of another namespace selects nothing here',
    [pol('b', { podSelector: {} })],
    tcp('cli', 'web'),
    true,
  ],
];

describe('NetworkPolicy semantics', () => {
  for (const [name, policies, packet, allowed] of cases)
    test(name, () =>
      assert.equal(permits(computeVerdicts(policies, pods, namespaces), [NODE], packet), allowed),
    );
});

describe('the nft script', () => {
  const options = { table: 'hkabc123_policy', nodeAddresses: [NODE] };

  test('without isolated pods it only removes the table', () => {
    assert.equal(
      renderPolicyRuleset(computeVerdicts([], pods, namespaces), options),
      'table inet hkabc123_policy\ndelete table inet hkabc123_policy\n',
    );
  });

  test('an isolated pod gets its chain; established traffic passes first', () => {
    const verdicts = computeVerdicts(
      [
        pol('a', {
          podSelector: app('web'),
          ingress: [
            {
              from: [
                { podSelector: app('cli') },
                { ipBlock: { cidr: '172.31.1.1/16', except: ['172.31.5.0/24', '172.31.5.128/25'] } },
              ],
              ports: [{ port: 80 }, { port: 8000, endPort: 8100 }, { protocol: 'UDP', port: 53 }],
            },
          ],
        }),
      ],
      pods,
      namespaces,
    );
    const script = renderPolicyRuleset(verdicts, options);
    const forward = script.slice(script.indexOf('chain forward'), script.indexOf('}'));
    assert.ok(forward.indexOf('ct state established,related accept') < forward.indexOf('vmap'), forward);
    assert.match(script, /ip daddr vmap \{ 10\.244\.0\.2 : jump in_10_244_0_2 \}/);
    const chain = script.slice(script.indexOf('chain in_10_244_0_2'));
    const rules = chain
      .split('\n')
      .slice(1, -3)
      .map((l) => l.trim());
    assert.deepEqual(rules, [
      'ip saddr 10.244.0.2 return',
      'ip saddr 10.244.0.1 return',
      'ip saddr 10.244.0.4 meta l4proto tcp th dport { 80, 8000-8100 } return',
      'ip saddr 10.244.0.4 meta l4proto udp th dport 53 return',
      'ip saddr 172.31.0.0/16 ip saddr != 172.31.5.0/24 meta l4proto tcp th dport { 80, 8000-8100 } return',
      'ip saddr 172.31.0.0/16 ip saddr != 172.31.5.0/24 meta l4proto udp th dport 53 return',
      'drop',
    ]);
  });
});
