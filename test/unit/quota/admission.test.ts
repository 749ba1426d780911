import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { limitRangeKind, resourceQuotaKind } from '../../../src/api/core/quota.js';
import { serviceKind } from '../../../src/api/core/service.js';
import { persistentVolumeClaimKind, secretKind } from '../../../src/api/core/core.js';
import { virtualMachineInstanceKind } from '../../../src/api/kubevirt/vmi.js';
import { virtualMachineKind } from '../../../src/api/kubevirt/vm.js';
import { dataVolumeKind } from '../../../src/api/cdi/datavolume.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { SqliteStore } from '../../../src/store/sqlite.js';

let r: Registry;
beforeEach(() => {
  r = new Registry(new SqliteStore({ path: ':memory:' }));
  r.create(namespaceKind, '', { metadata: { name: 'acme' } });
});

const quota = (hard: Record<string, string | number>, name = 'q') =>
  r.create(resourceQuotaKind, 'acme', { metadata: { name }, spec: { hard } });

const refused = (message: string) => (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, 'Forbidden', err.message);
  assert.equal(err.code, 403);
  assert.equal(err.message, message);
  return true;
};

const invalid = (paths: string[]) => (err: unknown) => {
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.reason, 'Invalid', err.message);
  assert.deepEqual((err.details.causes ?? []).map((c) => c.path).sort(), [...paths].sort());
  return true;
};

const lb = (name: string) => ({
  metadata: { name },
  spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: name } },
});

const vmi = (name: string, cores: number, memory = '256Mi') => ({
  metadata: { name },
  spec: {
    domain: {
      cpu: { cores },
      memory: { guest: memory },
      devices: { disks: [{ name: 'root', disk: {} }] },
    },
    volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
  },
});

describe('ResourceQuota admission', () => {
  test('a second LoadBalancer over services.loadbalancers: 1 is refused as kube-apiserver words it', () => {
    quota({ 'services.loadbalancers': 1 }, 'tenant-quota');
    r.create(serviceKind, 'acme', lb('one'));
    assert.throws(
      () => r.create(serviceKind, 'acme', lb('two')),
      refused(
        'services "two" is forbidden: exceeded quota: tenant-quota, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1',
      ),
    );
    // A ClusterIP service is not a load balancer: it passes.
    r.create(serviceKind, 'acme', { metadata: { name: 'plain' }, spec: { ports: [{ port: 80 }] } });
    // Turning it into one later is judged too.
    const plain = r.get(serviceKind, 'acme', 'plain').object;
    assert.throws(
      () =>
        r.update(serviceKind, 'acme', 'plain', {
          ...plain,
          spec: { ...(plain['spec'] as object), type: 'LoadBalancer' },
        }),
      refused(
        'services "plain" is forbidden: exceeded quota: tenant-quota, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1',
      ),
    );
  });

  test('object counts: count/<resource>.<group>, secrets; freed by a delete; other namespaces untouched', () => {
    quota({ 'count/virtualmachines.kubevirt.io': 1, secrets: '1' });
    const vm = (name: string) => ({
      metadata: { name },
      spec: { runStrategy: 'Halted', template: vmi(name, 1) },
    });
    r.create(virtualMachineKind, 'acme', vm('a'));
    assert.throws(
      () => r.create(virtualMachineKind, 'acme', vm('b')),
      refused(
        'virtualmachines.kubevirt.io "b" is forbidden: exceeded quota: q, requested: count/virtualmachines.kubevirt.io=1, used: count/virtualmachines.kubevirt.io=1, limited: count/virtualmachines.kubevirt.io=1',
      ),
    );
    r.create(secretKind, 'acme', { metadata: { name: 's1' } });
    assert.throws(
      () => r.create(secretKind, 'acme', { metadata: { name: 's2' } }),
      /exceeded quota: q, requested: secrets=1/,
    );
    r.delete(secretKind, 'acme', 's1');
    r.create(secretKind, 'acme', { metadata: { name: 's2' } });
    r.create(namespaceKind, '', { metadata: { name: 'other' } });
    r.create(virtualMachineKind, 'other', vm('b'));
  });

  test('a VMI counts as its launcher pod: limits.cpu = vCPUs, requests.cpu = vCPUs / 10, memory + overhead', () => {
    quota({ 'limits.cpu': 2, 'requests.cpu': '200m' }, 'tenant-quota');
    r.create(virtualMachineInstanceKind, 'acme', vmi('small', 1));
    assert.throws(
      () => r.create(virtualMachineInstanceKind, 'acme', vmi('big', 4)),
      refused(
        'virtualmachineinstances.kubevirt.io "big" is forbidden: exceeded quota: tenant-quota, requested: limits.cpu=4,requests.cpu=400m, used: limits.cpu=1,requests.cpu=100m, limited: limits.cpu=2,requests.cpu=200m',
      ),
    );
    r.create(virtualMachineInstanceKind, 'acme', vmi('second', 1));
  });

  test('memory counts the guest plus the overhead; a finished VMI counts for nothing', () => {
    quota({ 'requests.memory': '1Gi' });
    // 1Gi of guest alone is already over once the overhead is added.
    assert.throws(
      () => r.create(virtualMachineInstanceKind, 'acme', vmi('exact', 1, '1Gi')),
      /exceeded quota: q, requested: requests.memory=/,
    );
    const made = r.create(virtualMachineInstanceKind, 'acme', vmi('half', 1, '512Mi')).object;
    assert.throws(
      () => r.create(virtualMachineInstanceKind, 'acme', vmi('again', 1, '512Mi')),
      /exceeded quota/,
    );
    r.update(
      virtualMachineInstanceKind,
      'acme',
      'half',
      { ...made, status: { phase: 'Failed' } },
      { subresource: 'status' },
    );
    r.create(virtualMachineInstanceKind, 'acme', vmi('again', 1, '512Mi'));
  });

  test('storage: a claim counts its request; requests.storage and persistentvolumeclaims', () => {
    quota({ 'requests.storage': '10Gi', persistentvolumeclaims: 5 });
    const pvc = (name: string, size: string) => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
    });
    r.create(persistentVolumeClaimKind, 'acme', pvc('a', '8Gi'));
    assert.throws(
      () => r.create(persistentVolumeClaimKind, 'acme', pvc('b', '4Gi')),
      refused(
        'persistentvolumeclaims "b" is forbidden: exceeded quota: q, requested: requests.storage=4Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi',
      ),
    );
  });

  test('a DataVolume counts for its claim until the claim exists, never twice', () => {
    quota({ 'requests.storage': '10Gi' });
    const dv = (name: string, size: string) => ({
      metadata: { name },
      spec: { source: { blank: {} }, storage: { resources: { requests: { storage: size } } } },
    });
    r.create(dataVolumeKind, 'acme', dv('disk', '8Gi'));
    assert.throws(
      () => r.create(dataVolumeKind, 'acme', dv('other', '4Gi')),
      refused(
        'datavolumes.cdi.kubevirt.io "other" is forbidden: exceeded quota: q, requested: requests.storage=4Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi',
      ),
    );
    // The DataVolume's own claim (what CDI makes) takes the DataVolume's place.
    r.create(persistentVolumeClaimKind, 'acme', {
      metadata: { name: 'disk' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } },
    });
    assert.throws(() => r.create(dataVolumeKind, 'acme', dv('other', '4Gi')), /used: requests.storage=8Gi/);
    r.create(dataVolumeKind, 'acme', dv('small', '2Gi'));
  });

  test('dry run is judged too; what does not grow is never refused', () => {
    quota({ secrets: 0 });
    assert.throws(
      () => r.create(secretKind, 'acme', { metadata: { name: 's' } }, { dryRun: true }),
      /exceeded quota/,
    );
    r.create(serviceKind, 'acme', lb('one'));
  });

  test('bad quota and limit range fields come back as one cause each', () => {
    assert.throws(
      () =>
        r.create(resourceQuotaKind, 'acme', {
          metadata: { name: 'bad' },
          spec: { hard: { 'requests.cpu': '-1', 'not a name': 1, cpu: 2, memory: 'lots' } },
        }),
      invalid(['spec.hard[cpu]', 'spec.hard.memory', 'spec.hard[not a name]', 'spec.hard[requests.cpu]']),
    );
    assert.throws(
      () =>
        r.create(limitRangeKind, 'acme', {
          metadata: { name: 'bad' },
          spec: {
            limits: [
              {
                type: 'Container',
                min: { cpu: '2' },
                max: { cpu: '1' },
                maxLimitRequestRatio: { memory: '0.5' },
              },
              { type: 'Pod', default: { cpu: '1' } },
              { type: 'Nothing' },
            ],
          },
        }),
      invalid([
        'spec.limits[0].min[cpu]',
        'spec.limits[0].maxLimitRequestRatio[memory]',
        'spec.limits[1].default[cpu]',
        'spec.limits[2].type',
      ]),
    );
  });
});

describe('LimitRange admission', () => {
  test('a VMI over a Container maximum is refused as LimitRanger words it', () => {
    r.create(limitRangeKind, 'acme', {
      metadata: { name: 'lr' },
      spec: { limits: [{ type: 'Container', max: { cpu: '2' }, default: { cpu: '1' } }] },
    });
    // No limits quota: a VMI without a CPU limit gets the default limit (1) and passes.
    r.create(virtualMachineInstanceKind, 'acme', vmi('auto', 4));
    // With a limits.cpu quota, KubeVirt sets the limit to the vCPU count: 4 > 2.
    quota({ 'limits.cpu': 100 });
    assert.throws(
      () => r.create(virtualMachineInstanceKind, 'acme', vmi('big', 4)),
      refused(
        'virtualmachineinstances.kubevirt.io "big" is forbidden: maximum cpu usage per Container is 2, but limit is 4',
      ),
    );
  });

  test('a claim under a PersistentVolumeClaim minimum is refused', () => {
    r.create(limitRangeKind, 'acme', {
      metadata: { name: 'lr' },
      spec: { limits: [{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' } }] },
    });
    assert.throws(
      () =>
        r.create(persistentVolumeClaimKind, 'acme', {
          metadata: { name: 'tiny' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
        }),
      refused(
        'persistentvolumeclaims "tiny" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 1Mi',
      ),
    );
  });
});
