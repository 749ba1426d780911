/**
 * Upstream manifests that KubeVirt and CDI accept, applied with real kubectl against a real server:
 * a VM whose template has no memory is accepted and shows KubeVirt's FailedCreate (condition and
 * event) when its VMI is refused; newer fields this platform does not act on are kept, and kubectl
 * prints the server's warning for each; instancetype kinds in any case and number, and an empty
 * http checksum, are accepted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
const ns = `parity-${process.pid}`;
before(async () => {
  p = await startTestPlatform();
  await kubectlOk(p, ['create', 'namespace', ns]);
});
after(async () => {
  await p.cleanup();
});

const apply = (manifest: object) => p.kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(manifest));

interface Vm {
  status?: {
    printableStatus?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}
interface EventList {
  items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
}

describe('upstream manifests with kubectl', () => {
  test('a VM template without memory is accepted; its VMI is refused and the VM shows FailedCreate', async () => {
    const r = await apply({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'no-memory' },
      spec: { runStrategy: 'Always', template: { spec: { domain: { devices: {} } } } },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /virtualmachine\.kubevirt\.io\/no-memory created/);
    const failure = await eventually(
      async () => {
        const vm = JSON.parse(await kubectlOk(p, ['get', 'vm', 'no-memory', '-n', ns, '-o', 'json'])) as Vm;
        return vm.status?.conditions?.find((c) => c.reason === 'FailedCreate');
      },
      'the FailedCreate condition on the VM',
      30_000,
      200,
    );
    assert.equal(failure.status, 'True');
    assert.match(failure.message ?? '', /resources\.requests\.memory/);
    const events = JSON.parse(await kubectlOk(p, ['get', 'events', '-n', ns, '-o', 'json'])) as EventList;
    const event = events.items.find(
      (e) => e.involvedObject.name === 'no-memory' && e.reason === 'FailedCreate',
    );
    assert.ok(event !== undefined, JSON.stringify(events.items.map((e) => e.reason)));
    assert.match(event.message, /Error creating VirtualMachineInstance no-memory: .*memory/);
    const vmis = await kubectlOk(p, ['get', 'vmi', '-n', ns, '-o', 'name']);
    assert.equal(vmis.trim(), '');
  });

  test('fields kept without effect are accepted, and kubectl prints a warning naming each', async () => {
    const r = await apply({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'dra' },
      spec: {
        runStrategy: 'Halted',
        instancetype: { kind: 'virtualmachineclusterinstancetypes', name: 'u1.small' },
        preference: { kind: 'VirtualMachineClusterPreference', name: 'ubuntu' },
        template: {
          spec: {
            domain: {
              devices: {
                gpus: [{ name: 'g1', claimName: 'gpu', requestName: 'one' }],
                video: { type: 'virtio' },
              },
            },
            resourceClaims: [{ name: 'gpu', resourceClaimTemplateName: 'single-gpu' }],
          },
        },
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const T = 'spec.template.spec';
    for (const path of [
      `${T}.domain.devices.gpus[0].claimName`,
      `${T}.domain.devices.gpus[0].requestName`,
      `${T}.domain.devices.video`,
      `${T}.resourceClaims`,
    ])
      assert.ok(
        r.stderr.includes(`Warning: ${path}: accepted, has no effect on this platform`),
        `no warning for ${path} in:\n${r.stderr}`,
      );
    const stored = JSON.parse(await kubectlOk(p, ['get', 'vm', 'dra', '-n', ns, '-o', 'json'])) as {
      spec: { instancetype: { kind: string }; template: { spec: { resourceClaims: unknown } } };
    };
    assert.equal(stored.spec.instancetype.kind, 'virtualmachineclusterinstancetypes', 'kept as written');
    assert.deepEqual(stored.spec.template.spec.resourceClaims, [
      { name: 'gpu', resourceClaimTemplateName: 'single-gpu' },
    ]);
  });

  test('an empty http checksum means none (server dry run)', async () => {
    const r = await p.kubectl(
      ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'DataVolume',
        metadata: { name: 'no-sum' },
        spec: {
          source: { http: { url: 'http://127.0.0.1:1/disk.qcow2', checksum: '' } },
          storage: { resources: { requests: { storage: '1Gi' } } },
        },
      }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /datavolume\.cdi\.kubevirt\.io\/no-sum created \(server dry run\)/);
  });
});
