/**
 * The NetworkPolicy controller on the controller runtime, over both transports, with a firewall
 * that records scripts: it applies a ruleset when policies, VMIs or namespaces change, only from
 * pod IPs inside the pod CIDR, does not re-apply an unchanged one, retries a failed apply, and
 * is not built at all with QEMU user networking.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { kinds } from '../../../src/api/registry.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { networkPolicyControllerFor } from '../../../src/controllers/networkpolicy/index.js';
import { policyPods } from '../../../src/controllers/networkpolicy/pods.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import type { NetworkPolicy } from '../../../src/api/network/networkpolicy.js';
import { computeVerdicts } from '../../../src/network/policy/model.js';
import { renderPolicyRuleset } from '../../../src/network/policy/render.js';
import type { NetworkPolicyController } from '../../../src/controllers/networkpolicy/controller.js';
import { resolveNetworkOptions } from '../../../src/network/options.js';
import { Manager } from '../../../src/runtime/manager.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { addNamespace, addPodVmi, addPolicy, deletePolicy } from '../../support/policy-cluster.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const deny: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'deny', namespace: 'default' },
  spec: { podSelector: {} },
};
const podNetwork = resolveNetworkOptions({ mode: 'pod', podCidr: '10.244.0.0/16' }, {});

test('with QEMU user networking there is no policy controller', () => {
  const manager = new Manager({} as never);
  assert.equal(
    networkPolicyControllerFor({ manager, prefix: 'hkx', network: { ...podNetwork, mode: 'user' } }),
    undefined,
  );
});

for (const kind of transports) {
  describe(`NetworkPolicy controller (${kind.name})`, () => {
    let r: Registry;
    let open: TransportUnderTest;
    let manager: Manager;
    let controller: NetworkPolicyController;
    let scripts: string[];
    let failures: number;
    beforeEach(async () => {
      r = new Registry(new SqliteStore({ path: ':memory:' }));
      r.create(namespaceKind, '', { metadata: { name: 'default' } });
      open = await kind.open(r, kinds);
      manager = new Manager(open.transport);
      scripts = [];
      failures = 0;
      const made = networkPolicyControllerFor({
        manager,
        prefix: 'hkabc123',
        network: podNetwork,
        firewall: {
          apply: (script) => {
            if (failures > 0) {
              failures--;
              return Promise.reject(new Error('nft: busy'));
            }
            scripts.push(script);
            return Promise.resolve();
          },
        },
      });
      assert.ok(made);
      controller = made;
      void manager.add(controller);
      await manager.start();
    });
    afterEach(async () => {
      manager.stop();
      await open.close();
    });
    const last = (): string => scripts.at(-1) ?? '';

    test('follows policies, pod IPs and namespace labels', async () => {
      addNamespace(r, 'shop', { team: 'red' });
      addPodVmi(r, 'shop', 'web', { app: 'web' }, '10.244.0.2', [{ name: 'http', port: 8080 }]);
      addPodVmi(r, 'default', 'cli', { app: 'cli' }, '10.244.0.3');
      addPodVmi(r, 'default', 'slirp', { app: 'cli' }, '10.0.2.15');
      await eventually(() => scripts.length > 0, 'a first ruleset');
      assert.equal(last(), 'table inet hkabc123_policy\ndelete table inet hkabc123_policy\n');
      addPolicy(r, 'shop', 'web', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }], ports: [{ port: 'http' }] },
        ],
      });
      await eventually(() => last().includes('chain in_10_244_0_2'), 'the web VM isolated');
      assert.ok(!last().includes('10.0.2.15'), last());
      assert.ok(last().includes('ip saddr 10.244.0.1 return'), 'the gateway is let in');
      assert.ok(!last().includes('ip saddr 10.244.0.3 meta'), 'the default namespace is not blue yet');
      const ns = r.get(namespaceKind, '', 'default').object;
      r.update(namespaceKind, '', 'default', {
        ...ns,
        metadata: { ...ns.metadata, labels: { team: 'blue' } },
      });
      await eventually(
        () => last().includes('ip saddr 10.244.0.3 meta l4proto tcp th dport 8080 return'),
        'the blue namespace let in on the named port',
      );
      const count = scripts.length;
      deletePolicy(r, 'shop', 'web');
      await eventually(() => !last().includes('chain'), 'the table emptied');
      assert.equal(scripts.length, count + 1, 'one apply per change of the ruleset');
    });

    test('a failed apply is retried', async () => {
      await eventually(() => scripts.length > 0, 'a first ruleset');
      failures = 2;
      addPodVmi(r, 'default', 'db', { app: 'db' }, '10.244.0.9');
      addPolicy(r, 'default', 'deny', { podSelector: {} });
      await eventually(() => last().includes('chain in_10_244_0_9'), 'applied after two failures', 15_000);
      assert.equal(failures, 0);
    });
  });
}

describe('VMIs as policy pods', () => {
  const vmi = (
    name: string,
    ip: string,
    meta: Partial<VirtualMachineInstance['metadata']> = {},
    phase = 'Running',
  ): VirtualMachineInstance => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'default', labels: { app: name }, ...meta },
    spec: {
      domain: {
        devices: { interfaces: [{ name: 'nic', masquerade: {}, ports: [{ name: 'http', port: 80 }] }] },
      },
      networks: [{ name: 'nic', pod: {} }],
    },
    status: { phase: phase as 'Running', interfaces: [{ name: 'nic', ipAddress: ip }] },
  });

  test('the pod interface gives the IP and named ports; finished VMIs and other addresses are left out', () => {
    const pods = policyPods(
      [vmi('web', '10.244.0.7'), vmi('done', '10.244.0.8', {}, 'Succeeded'), vmi('slirp', '10.0.2.15')],
      '10.244.0.0/16',
    );
    assert.deepEqual(pods, [
      {
        namespace: 'default',
        name: 'web',
        labels: { app: 'web' },
        ip: '10.244.0.7',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
    ]);
  });

  test('an address claimed twice goes to the VMI not being deleted, and renders once', () => {
    const vmis = [
      vmi('new', '10.244.0.7', { creationTimestamp: '2026-12-07T00:00:00Z' }),
      vmi('old', '10.244.0.7', {
        creationTimestamp: '2026-12-06T00:00:00Z',
        deletionTimestamp: '2026-12-07T00:01:00Z',
      }),
    ];
    for (const order of [vmis, [...vmis].reverse()]) {
      const pods = policyPods(order, '10.244.0.0/16');
      assert.deepEqual(
        pods.map((p) => p.name),
        ['new'],
      );
    }
    const twice = [
      { namespace: 'default', name: 'a', labels: {}, ip: '10.244.0.7', ports: [] },
      { namespace: 'default', name: 'b', labels: {}, ip: '10.244.0.7', ports: [] },
    ];
    const script = renderPolicyRuleset(computeVerdicts([deny], twice, []), {
      table: 't',
      nodeAddresses: [],
    });
    assert.equal(script.split('chain in_10_244_0_7').length, 2, script);
  });
});
