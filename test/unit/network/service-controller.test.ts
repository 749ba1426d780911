/**
 * The service controller against a real Registry over an in-memory store, with the proxy and the
 * readiness prober replaced by recorders: what it allocates, which VMIs it picks and how it shows
 * them in the EndpointSlice, what it asks the proxy to do, and the load balancer status it writes.
 * Run over both transports of the controller runtime (in process, and HTTP to a real API server).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { kinds } from '../../../src/api/registry.js';
import { serviceKind, type Service } from '../../../src/api/core/service.js';
import { findKindByGvk } from '../../../src/api/registry.js';
import { virtualMachineInstanceKind, type VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { endpointSliceKind, type EndpointSlice } from '../../../src/api/network/endpointslice.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { ApiClient } from '../../../src/runtime/registry-client.js';
import { recorderFor } from '../../../src/runtime/events.js';
import { Manager } from '../../../src/runtime/manager.js';
import { ServiceController, type ProxyControl } from '../../../src/controllers/service/controller.js';
import { resolveNetworkOptions } from '../../../src/network/options.js';
import type { ProxyServiceSpec } from '../../../src/network/proxy/proxy.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { transports, type TransportUnderTest } from '../../support/runtime.js';
import { eventually } from '../../support/wait.js';

const NS = 'default';
let store: SqliteStore;
let api: ApiClient;
let controller: ServiceController;
let manager: Manager;
let open: TransportUnderTest;
let applied: Map<string, ProxyServiceSpec>;
let removed: string[];
let notReady: Set<string>;
/** The load balancer port the fake proxy says it got (as if the service port were taken). */
let lbPort: number | undefined;

const proxy: ProxyControl = {
  apply(key, spec) {
    applied.set(key, spec);
    return Promise.resolve(
      Object.fromEntries(
        spec.ports.map((p) => [
          p.name,
          p.frontends.map((f) => ({
            ...f,
            listening: f.kind === 'loadBalancer' ? (lbPort ?? f.port) : f.port,
          })),
        ]),
      ),
    );
  },
  remove(key) {
    removed.push(key);
    applied.delete(key);
    return Promise.resolve();
  },
};

function vmi(
  name: string,
  labels: Record<string, string>,
  state: { phase?: string; ready?: boolean; paused?: boolean } = {},
): string {
  // A copy: the synchronous client hands back the stored object itself, which must not change.
  const created = structuredClone(
    api.create<VirtualMachineInstance>(virtualMachineInstanceKind, {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name, namespace: NS, labels },
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
    phase: (state.phase ?? 'Running') as 'Running',
    nodeName: 'node-1',
    interfaces: [{ name: 'default', ipAddress: '10.0.2.15' }],
    conditions: [
      { type: 'Ready', status: state.ready === false ? 'False' : 'True' },
      ...(state.paused === true ? [{ type: 'Paused', status: 'True' as const }] : []),
    ],
  };
  return api.updateStatus(virtualMachineInstanceKind, created).metadata.uid ?? '';
}

function service(name: string, spec: Service['spec'] & object): Service {
  return api.create<Service>(serviceKind, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec,
  });
}

const get = (name: string): Service => {
  const s = api.get<Service>(serviceKind, NS, name);
  if (s === undefined) throw new Error(`service ${name} missing`);
  return s;
};
const slice = (name: string): EndpointSlice | undefined =>
  api
    .list<EndpointSlice>(endpointSliceKind, NS)
    .find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === name);

/** Polls `check` until it stops throwing: over HTTP the controller's cache is a moment behind. */
const settled = (check: () => void): Promise<boolean> =>
  eventually(() => {
    check();
    return true;
  }, 'the service controller to settle');

for (const kind of transports)
  describe(`service controller (${kind.name})`, () => {
    beforeEach(async () => {
      store = new SqliteStore({ path: ':memory:' });
      const registry = new Registry(store);
      const nsDef = findKindByGvk('v1', 'Namespace');
      if (nsDef === undefined) throw new Error('Namespace kind missing');
      registry.create(nsDef, '', { metadata: { name: NS } });
      api = new ApiClient(registry);
      applied = new Map();
      removed = [];
      notReady = new Set();
      lbPort = undefined;
      open = await kind.open(registry, kinds);
      manager = new Manager(open.transport);
      controller = new ServiceController({
        manager,
        events: recorderFor(manager, 'service-controller', 'node-1'),
        proxy,
        prober: { ready: (uid) => (notReady.has(uid) ? false : undefined), sync: () => undefined },
        network: resolveNetworkOptions({ loadBalancerPool: ['127.0.0.1'] }, {}),
        nodeName: 'node-1',
      });
      void manager.add(controller);
      await manager.start();
    });

    afterEach(async () => {
      manager.stop();
      await open.close();
      store.close();
    });

    test('a LoadBalancer over the ready VMIs its selector matches: allocation, slice, proxy, status', async () => {
      const a = vmi('web-a', { app: 'web' });
      const b = vmi('web-b', { app: 'web' });
      vmi('web-paused', { app: 'web' }, { paused: true });
      vmi('web-pending', { app: 'web' }, { phase: 'Scheduled' });
      vmi('db', { app: 'db' });
      service('web', {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [{ port: 80, targetPort: 'http' }],
      });
      await settled(() => {
        const svc = get('web');
        assert.match(svc.spec?.clusterIP ?? '', /^127\.16\.\d+\.\d+$/);
        const nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
        assert.ok(nodePort >= 30000 && nodePort <= 32767);
        assert.deepEqual(svc.status?.loadBalancer?.ingress, [
          { ip: '127.0.0.1', ipMode: 'Proxy', ports: [{ port: 80, protocol: 'TCP' }] },
        ]);

        const s = slice('web');
        assert.deepEqual(
          s?.endpoints.map((e) => [e.targetRef?.name, e.addresses[0], e.conditions?.ready]),
          [
            ['web-a', '10.0.2.15', true],
            ['web-b', '10.0.2.15', true],
            ['web-paused', '10.0.2.15', false],
          ],
        );
        assert.deepEqual(
          s?.ports,
          [{ name: '', protocol: 'TCP', port: 8080 }],
          'the named target port resolved',
        );
        assert.equal(s?.metadata.ownerReferences?.[0]?.uid, svc.metadata.uid);

        const spec = applied.get('default/web');
        assert.deepEqual(
          spec?.ports[0]?.backends.map((x) => [x.uid, x.port]),
          [
            [a, 8080],
            [b, 8080],
          ],
        );
        assert.deepEqual(spec?.ports[0]?.frontends, [
          { kind: 'cluster', address: svc.spec?.clusterIP, port: 80 },
          { kind: 'node', address: '127.0.0.1', port: nodePort },
          { kind: 'loadBalancer', address: '127.0.0.1', port: 80, anyPortIfTaken: true },
        ]);
        assert.equal(spec?.algorithm, 'round-robin');
      });
    });

    test('a readiness probe that fails takes a VMI out; a VMI that stops leaves the slice', async () => {
      const a = vmi('web-a', { app: 'web' });
      vmi('web-b', { app: 'web' });
      service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] });
      await settled(() => assert.equal(applied.get('default/web')?.ports[0]?.backends.length, 2));
      notReady.add(a);
      controller.readinessChanged(a);
      await settled(() => {
        assert.deepEqual(
          applied.get('default/web')?.ports[0]?.backends.map((x) => x.name),
          ['web-b'],
        );
        assert.equal(
          slice('web')?.endpoints.find((e) => e.targetRef?.name === 'web-a')?.conditions?.ready,
          false,
        );
      });

      api.delete(virtualMachineInstanceKind, NS, 'web-b');
      await settled(() => {
        assert.deepEqual(
          slice('web')?.endpoints.map((e) => e.targetRef?.name),
          ['web-a'],
        );
        assert.deepEqual(applied.get('default/web')?.ports[0]?.backends, []);
      });
    });

    test('a load balancer whose port was taken reports the port it got; deleting the service removes it from the proxy', async () => {
      lbPort = 41234;
      service('udp', {
        type: 'LoadBalancer',
        selector: { app: 'x' },
        ports: [{ port: 53, protocol: 'UDP' }],
      });
      await settled(() => {
        assert.deepEqual(get('udp').status?.loadBalancer?.ingress?.[0]?.ports, [
          { port: 41234, protocol: 'UDP' },
        ]);
        assert.equal(applied.get('default/udp')?.ports[0]?.protocol, 'udp');
      });
      api.delete(serviceKind, NS, 'udp');
      await settled(() => assert.deepEqual(removed, ['default/udp']));
    });

    test('a service without a selector gets no managed slice and no backends; annotations tune the proxy', async () => {
      vmi('web-a', { app: 'web' });
      api.create<Service>(serviceKind, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'manual',
          namespace: NS,
          annotations: {
            'lb.hikube.io/algorithm': 'least-connections',
            'lb.hikube.io/health-check-period-seconds': '1',
          },
        },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      await settled(() => {
        assert.equal(slice('manual'), undefined);
        const spec = applied.get('default/manual');
        assert.deepEqual(spec?.ports[0]?.backends, []);
        assert.equal(spec?.algorithm, 'least-connections');
        assert.equal(spec?.health.periodMs, 1000);
        assert.ok((get('manual').spec?.ports?.[0]?.nodePort ?? 0) > 0);
        assert.equal(get('manual').status?.loadBalancer, undefined, 'only load balancers have an ingress');
      });
    });
  });
