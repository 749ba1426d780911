/**
 * The service controller on the pod network, end to end but for the guests: a real Registry and
 * controller runtime, the kernel data path (nftables in a fake node namespace) and fake pods whose
 * VMIs report their pod IPs in status.interfaces, as the pod network does. A ClusterIP Service gets
 * a cluster IP from 10.96.0.0/16 and spreads a pod's connections over both VMIs' pod IPs; a
 * backend whose server dies is taken out by its health check (on POD_IP:port); a VMI that goes
 * away leaves the table at once, and a Service left without backends refuses instead of hanging.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { admissionSettingsFromEnv } from '../../src/api/admission.js';
import { kinds, findKindByGvk } from '../../src/api/registry.js';
import { serviceKind, type Service } from '../../src/api/core/service.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../src/api/kubevirt/vmi.js';
import { Registry } from '../../src/apiserver/registry.js';
import { ServiceController } from '../../src/controllers/service/controller.js';
import { resolveNetworkOptions } from '../../src/network/options.js';
import { KernelServiceProxy } from '../../src/network/services/kernel.js';
import { linuxServiceTable } from '../../src/network/services/nft.js';
import { PodForwards } from '../../src/network/services/pods.js';
import { recorderFor } from '../../src/runtime/events.js';
import { Manager } from '../../src/runtime/manager.js';
import { ApiClient } from '../../src/runtime/registry-client.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { FakeNode, type FakePod } from '../support/fakepods.js';
import { inProcess, type TransportUnderTest } from '../support/runtime.js';
import { eventually } from '../support/wait.js';

const NS = 'default';
const GW = '10.244.0.1';

describe('service controller on the kernel data path (fake pods)', () => {
  let node: FakeNode;
  let a: FakePod;
  let b: FakePod;
  let c: FakePod;
  let store: SqliteStore;
  let api: ApiClient;
  let manager: Manager;
  let open: TransportUnderTest;
  let proxy: KernelServiceProxy;

  const vmi = (pod: FakePod): void => {
    const created = structuredClone(
      api.create<VirtualMachineInstance>(virtualMachineInstanceKind, {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: `web-${pod.name}`, namespace: NS, labels: { app: 'web' } },
        spec: {
          domain: {
            devices: {
              interfaces: [{ name: 'default', masquerade: {}, ports: [{ name: 'http', port: 8080 }] }],
            },
            memory: { guest: '128Mi' },
          },
          networks: [{ name: 'default', pod: {} }],
        },
      }),
    );
    created.status = {
      phase: 'Running',
      nodeName: 'node-1',
      interfaces: [{ name: 'default', ipAddress: pod.ip, ipAddresses: [pod.ip] }],
      conditions: [{ type: 'Ready', status: 'True' }],
    };
    api.updateStatus(virtualMachineInstanceKind, created);
  };

  const clusterIp = (): Promise<string> =>
    eventually(() => api.get<Service>(serviceKind, NS, 'web')?.spec?.clusterIP, 'a cluster IP');

  before(async () => {
    node = await FakeNode.create(GW);
    a = await node.addPod('a', '10.244.0.21');
    b = await node.addPod('b', '10.244.0.22');
    c = await node.addPod('c', '10.244.0.23');
    await Promise.all([node.serve(a, 8080), node.serve(b, 8080)]);
    store = new SqliteStore({ path: ':memory:' });
    const network = resolveNetworkOptions({ mode: 'pod', loadBalancerPool: ['127.0.0.1'] }, {});
    const registry = new Registry(store, undefined, admissionSettingsFromEnv(network.serviceCidr, {}));
    const nsDef = findKindByGvk('v1', 'Namespace');
    if (nsDef === undefined) throw new Error('Namespace kind missing');
    registry.create(nsDef, '', { metadata: { name: NS } });
    api = new ApiClient(registry);
    open = await inProcess.open(registry, kinds);
    manager = new Manager(open.transport);
    proxy = new KernelServiceProxy({
      table: linuxServiceTable({ netns: node.netns, serviceCidr: network.serviceCidr }),
      tableName: 'hkctl_svc',
      gateway: GW,
      forwards: new PodForwards(() => api.list<VirtualMachineInstance>(virtualMachineInstanceKind)),
      resyncMs: 100,
      // Checks connect from the fake node, where the pod IPs are routed.
      tcpCheck: node.tcpCheck,
    });
    void manager.add(
      new ServiceController({
        manager,
        events: recorderFor(manager, 'service-controller', 'node-1'),
        proxy,
        prober: { ready: () => undefined, sync: () => undefined },
        network,
        nodeName: 'node-1',
      }),
    );
    await manager.start();
    vmi(a);
    vmi(b);
    api.create<Service>(serviceKind, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: NS,
        annotations: { 'lb.hikube.io/health-check-period-seconds': '0.2' },
      },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
    });
  });

  after(async () => {
    manager.stop();
    await proxy.stop();
    await open.close();
    store.close();
    await node.destroy();
  });

  test('the cluster IP comes from 10.96.0.0/16 and spreads a pod’s connections over both pod IPs', async () => {
    const ip = await clusterIp();
    assert.match(ip, /^10\.96\.\d+\.\d+$/);
    assert.notEqual(ip, '10.96.0.10', 'cluster DNS keeps its address');
    await eventually(
      async () => {
        const answers = new Set(await c.ask(node, 'tcp', ip, 80, 16));
        return answers.size === 2 && answers.has(`a ${c.ip}`) && answers.has(`b ${c.ip}`);
      },
      'both backends to answer through the cluster IP',
      20_000,
      200,
    );
  });

  test('a backend whose server dies is taken out by its health check on POD_IP:port', async () => {
    const ip = await clusterIp();
    await node.stopServer(b);
    // Before the check notices, about half the connections are refused by b; after, none.
    await eventually(
      async () => {
        const answers = await c.ask(node, 'tcp', ip, 80, 12);
        return answers.every((x) => x === `a ${c.ip}`);
      },
      'only a to answer',
      15_000,
      100,
    );
    assert.deepEqual(
      proxy.backends(`${NS}/web`, '0').map((x) => [x.name, x.healthy]),
      [
        ['web-a', true],
        ['web-b', false],
      ],
    );
  });

  test('a VMI deleted leaves the table at once; without backends the Service refuses', async () => {
    const ip = await clusterIp();
    api.delete(virtualMachineInstanceKind, NS, 'web-a');
    await eventually(
      () => proxy.desired().find((x) => x.key === `${NS}/web`)?.ports[0]?.backends.length === 0,
      'the Service to have no backends',
      10_000,
      50,
    );
    // a's server still runs: a refusal can only come from the table.
    assert.deepEqual(await c.ask(node, 'tcp', ip, 80), ['error ECONNREFUSED']);
  });
});
