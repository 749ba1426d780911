/**
 * NetworkPolicy enforced by the real controller with real nftables, on fake pods (network
 * namespaces routed from a node namespace the test makes, as the pod network routes VMs): no
 * policy lets everything through; deny-all ingress blocks peers but not the node; an allow rule
 * for one label opens the pod for that peer only; namespaceSelector, ipBlock with except and port
 * filters; egress deny; replies of allowed connections pass. The whole run happens twice, with
 * br_netfilter's bridge-nf-call-iptables on and off in the node namespace: the pod network is
 * routed (no bridge on the node), so pod traffic crosses the IP forward hook either way and the
 * verdicts must not change.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Registry, resourceKey } from '../../src/apiserver/registry.js';
import type { KubeObject } from '../../src/api/meta.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../src/api/kubevirt/vmi.js';
import { namespaceKind } from '../../src/api/core/core.js';
import type { KindDefinition } from '../../src/api/kind.js';
import {
  networkPolicyKind,
  type NetworkPolicy,
  type NetworkPolicySpec,
} from '../../src/api/network/networkpolicy.js';
import { policyNamespaces, policyPods } from '../../src/controllers/networkpolicy/pods.js';
import { computeVerdicts } from '../../src/network/policy/model.js';
import { renderPolicyRuleset } from '../../src/network/policy/render.js';
import type { NetworkPolicyController } from '../../src/controllers/networkpolicy/controller.js';
import { networkPolicyControllerFor } from '../../src/controllers/networkpolicy/index.js';
import { resolveNetworkOptions } from '../../src/network/options.js';
import { nftFirewall } from '../../src/network/policy/nft.js';
import { RegistryTransport } from '../../src/runtime/inprocess.js';
import { Manager } from '../../src/runtime/manager.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { FakePodNetwork, type FakePod } from '../support/fake-pods.js';
import { addNamespace, addPodVmi, addPolicy } from '../support/policy-cluster.js';
import { eventually } from '../support/wait.js';

const tag = randomBytes(2).toString('hex');
const GATEWAY = '10.244.0.1';
const EXTERNAL = '198.18.0.9';

let net: FakePodNetwork;
let r: Registry;
let manager: Manager;
let controller: NetworkPolicyController;
const pods: Record<string, FakePod> = {};

before(async () => {
  net = new FakePodNetwork(tag, GATEWAY);
  r = new Registry(new SqliteStore({ path: ':memory:' }));
  addNamespace(r, 'default');
  addNamespace(r, 'shop', { team: 'blue' });
  addNamespace(r, 'tools', { team: 'red' });
  const layout: [string, string, string, Record<string, string>][] = [
    ['web', 'shop', '10.244.0.2', { app: 'web' }],
    ['cli', 'shop', '10.244.0.3', { app: 'cli' }],
    ['db', 'shop', '10.244.0.4', { app: 'db' }],
    ['tool', 'tools', '10.244.0.5', { app: 'cli' }],
  ];
  for (const [name, namespace, ip, labels] of layout) {
    pods[name] = net.addPod(name, ip, [80, 8080]);
    addPodVmi(r, namespace, name, labels, ip, [{ name: 'alt', port: 8080 }]);
  }
  // Outside the pod CIDR: a client the node routes like a pod, for ipBlock.
  pods['ext'] = net.addPod('ext', EXTERNAL, []);
  manager = new Manager(new RegistryTransport(r));
  const made = networkPolicyControllerFor({
    manager,
    prefix: `hkp${tag}`,
    network: { ...resolveNetworkOptions({}, {}), mode: 'pod', podCidr: { network: 0x0af40000, prefix: 16 } },
    firewall: nftFirewall(net.node),
    log: (message) => console.error(message),
  });
  assert.ok(made, 'a controller in pod mode');
  controller = made;
  await manager.add(controller);
  await manager.start();
});

after(() => {
  manager.stop();
  net.destroy();
});

const ip = (name: string): string => pods[name]?.ip ?? assert.fail(name);
const ns = (name: string): string => (name === 'node' ? net.node : (pods[name]?.ns ?? assert.fail(name)));

/** [from, to, port, allowed] */
type Probe = [string, string, number, boolean];

/** Allowed probes must get through (polled), blocked ones must time out. All run at once. */
async function expect(probes: Probe[]): Promise<void> {
  const results = await Promise.all(
    probes.map(async ([from, to, port, allowed]) => {
      if (!allowed)
        return (await net.reach(ns(from), ip(to), port)) ? `${from} -> ${to}:${port} got through` : '';
      try {
        await eventually(() => net.reach(ns(from), ip(to), port), `${from} -> ${to}:${port}`, 10_000, 100);
        return '';
      } catch {
        return `${from} -> ${to}:${port} was blocked`;
      }
    }),
  );
  assert.deepEqual(
    results.filter((m) => m !== ''),
    [],
  );
}

/** Makes the policies exactly these and waits until the node's table has the result. */
async function policies(list: [string, string, NetworkPolicySpec][]): Promise<void> {
  for (const o of r.store.list(resourceKey(networkPolicyKind)).items) {
    const meta = o.object.metadata;
    r.delete(networkPolicyKind, meta.namespace ?? '', meta.name ?? '');
  }
  for (const [namespace, name, spec] of list) addPolicy(r, namespace, name, spec);
  const names = list.map(([, name]) => name).join(', ') || 'no policy';
  await eventually(async () => {
    await controller.idle();
    return controller.ruleset === expectedRuleset();
  }, `the node's table for ${names}`);
}

/** The script the objects now in the registry compile to. */
function expectedRuleset(): string {
  const all = <T>(def: KindDefinition): T[] => r.store.list(resourceKey(def)).items.map((o) => o.object as T);
  return renderPolicyRuleset(
    computeVerdicts(
      all<NetworkPolicy>(networkPolicyKind),
      policyPods(all<VirtualMachineInstance>(virtualMachineInstanceKind), '10.244.0.0/16'),
      policyNamespaces(all<KubeObject>(namespaceKind)),
    ),
    { table: `hkp${tag}_policy`, nodeAddresses: [GATEWAY] },
  );
}

const app = (value: string) => ({ matchLabels: { app: value } });

for (const bridgeNetfilter of [true, false]) {
  describe(`NetworkPolicy on fake pods (bridge-nf-call-iptables=${bridgeNetfilter ? 1 : 0})`, () => {
    before(() => net.setBridgeNetfilter(bridgeNetfilter));

    test('no policy: everything reaches everything', async () => {
      await policies([]);
      await expect([
        ['cli', 'web', 80, true],
        ['tool', 'web', 80, true],
        ['ext', 'web', 80, true],
        ['web', 'tool', 8080, true],
        ['node', 'web', 80, true],
      ]);
    });

    test('deny-all ingress blocks peers and outside clients, not the node, not egress', async () => {
      await policies([['shop', 'deny', { podSelector: {} }]]);
      await expect([
        ['cli', 'web', 80, false],
        ['tool', 'web', 80, false],
        ['ext', 'db', 80, false],
        ['node', 'web', 80, true],
        ['web', 'tool', 80, true],
      ]);
    });

    test('an allow rule for one label opens the pod for that peer only', async () => {
      await policies([
        ['shop', 'deny', { podSelector: {} }],
        [
          'shop',
          'web-from-cli',
          { podSelector: app('web'), ingress: [{ from: [{ podSelector: app('cli') }] }] },
        ],
      ]);
      await expect([
        ['cli', 'web', 80, true],
        ['db', 'web', 80, false],
        ['tool', 'web', 80, false],
        ['cli', 'db', 80, false],
      ]);
    });

    test('namespaceSelector with port filters: by number, by name, by protocol (UDP 8080 does not open TCP 8080)', async () => {
      await policies([
        [
          'shop',
          'web-from-red',
          {
            podSelector: app('web'),
            ingress: [
              { from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }], ports: [{ port: 'alt' }] },
            ],
          },
        ],
        [
          'shop',
          'db-from-red',
          {
            podSelector: app('db'),
            ingress: [
              {
                from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }],
                ports: [{ port: 80 }, { protocol: 'UDP', port: 8080 }],
              },
            ],
          },
        ],
      ]);
      await expect([
        ['tool', 'web', 8080, true],
        ['tool', 'web', 80, false],
        ['tool', 'db', 80, true],
        ['tool', 'db', 8080, false],
        ['cli', 'web', 8080, false],
      ]);
    });

    test('ipBlock, then the same block with an except around the client', async () => {
      await policies([
        [
          'shop',
          'web-from-block',
          { podSelector: app('web'), ingress: [{ from: [{ ipBlock: { cidr: '198.18.0.0/15' } }] }] },
        ],
      ]);
      await expect([
        ['ext', 'web', 80, true],
        ['cli', 'web', 80, false],
      ]);
      await policies([
        [
          'shop',
          'web-from-block-except',
          {
            podSelector: app('web'),
            ingress: [{ from: [{ ipBlock: { cidr: '198.18.0.0/15', except: ['198.18.0.0/24'] } }] }],
          },
        ],
      ]);
      await expect([['ext', 'web', 80, false]]);
    });

    test('egress deny blocks what the pod sends; replies of allowed connections still pass', async () => {
      await policies([['tools', 'no-egress', { podSelector: {}, policyTypes: ['Egress'] }]]);
      await expect([
        ['tool', 'web', 80, false],
        ['cli', 'tool', 80, true],
      ]);
      await policies([
        [
          'tools',
          'egress-web-only',
          { podSelector: {}, egress: [{ to: [{ namespaceSelector: {}, podSelector: app('web') }] }] },
        ],
      ]);
      await expect([
        ['tool', 'web', 80, true],
        ['tool', 'db', 80, false],
        ['cli', 'tool', 80, false],
      ]);
    });
  });
}
