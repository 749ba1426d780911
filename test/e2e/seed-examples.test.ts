/**
 * The seed's three manifests on this machine, applied unchanged with kubectl: dev-vm's image is not
 * here (ErrImagePull with a hint, then Running once an image is imported under that name), gpu-vm
 * asks for a GPU the node lacks (ErrorUnschedulable naming nvidia.com/gpu), prod-vm waits for its
 * two PVCs (ErrorPvcNotFound, then it starts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { guestPids, vm, waitStatus } from '../support/guest.js';
import { kubectlOk, examplesDir, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const pvc = (name: string, size: string): string =>
  `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${name}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: ${size}\n`;

describe('the seed examples', () => {
  test('gpu-vm is ErrorUnschedulable, and the condition says nvidia.com/gpu is short', async () => {
    await ok(['apply', '-f', join(examplesDir, 'gpu-vm.yaml')]);
    const v = await waitStatus(p, 'gpu-vm', 'ErrorUnschedulable');
    const scheduled = v.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(scheduled?.status, 'False');
    assert.match(scheduled?.message ?? '', /insufficient nvidia\.com\/gpu: requested 1, allocatable 0/);
    const vmi = JSON.parse(await ok(['get', 'vmi', 'gpu-vm', '-o', 'json'])) as { status: { phase: string } };
    assert.equal(vmi.status.phase, 'Pending');
    assert.equal(guestPids(p, 'gpu-vm').length, 0);
  });

  test('dev-vm shows ErrImagePull with how to import the image, and runs once it is imported', async () => {
    await ok(['apply', '-f', join(examplesDir, 'dev-vm.yaml')]);
    const v = await waitStatus(p, 'dev-vm', 'ErrImagePull');
    const failure = v.status?.conditions?.find((c) => c.type === 'Failure');
    assert.match(
      failure?.message ?? '',
      /image "ubuntu:20.04" is not in the local image store.*hikube image import ubuntu:20.04/,
    );
    assert.match(await ok(['describe', 'vmi', 'dev-vm']), /ErrImagePull/);
    const imported = await p.hikube(['image', 'import', 'ubuntu:20.04', '--from', 'hikube/tiny']);
    assert.equal(imported.code, 0, imported.stderr);
    await waitStatus(p, 'dev-vm', 'Running', 30_000);
    assert.equal(guestPids(p, 'dev-vm').length, 1);
  });

  test('prod-vm shows ErrorPvcNotFound until both claims exist, then starts', async () => {
    await ok(['apply', '-f', join(examplesDir, 'prod-vm.yaml')]);
    await waitStatus(p, 'prod-vm', 'ErrorPvcNotFound');
    assert.match(await ok(['describe', 'vm', 'prod-vm']), /PVC prod-vm-root, prod-vm-data not found/);
    await ok(['apply', '-f', '-'], pvc('prod-vm-root', '1Gi'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      (await vm(p, 'prod-vm')).status?.printableStatus,
      'ErrorPvcNotFound',
      'one claim is not enough',
    );
    await ok(['apply', '-f', '-'], pvc('prod-vm-data', '2Gi'));
    await eventually(async () => {
      const s = (await vm(p, 'prod-vm')).status?.printableStatus;
      return s !== undefined && s !== 'ErrorPvcNotFound' && s !== 'Stopped' ? s : undefined;
    }, 'prod-vm to leave ErrorPvcNotFound');
    const claims = JSON.parse(await ok(['get', 'pvc', '-o', 'json'])) as {
      items: { status: { phase: string; capacity: { storage: string } } }[];
    };
    assert.deepEqual(claims.items.map((c) => [c.status.phase, c.status.capacity.storage]).sort(), [
      ['Bound', '1Gi'],
      ['Bound', '2Gi'],
    ]);
    await ok(['delete', 'vm', 'prod-vm', 'dev-vm', 'gpu-vm']);
  });
});
