/**
 * Disks seen from inside a real guest (hikube/tiny under QEMU): a DataVolume imported over http is
 * attached as a PVC; what the guest writes on it survives stop/start and deleting and re-creating
 * the VM, while a write on the containerDisk's scratch disk is gone after a restart; growing the
 * claim while the guest runs changes the size the guest sees, without a reboot. A VM with
 * dataVolumeTemplates (one cloned through a DataSource, one imported) is Provisioning until its
 * disks are filled; a claim deleted while its guest runs is kept until the guest stops; a failed
 * import shows as DataVolumeError.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Console, openConsole, sh, vm, waitStatus } from '../support/guest.js';
import { kubectlOk, hikubeOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import {
  GOLDEN,
  makeImages,
  serveImages,
  type ImageServer,
  type Images,
} from '../unit/storage/image-server.js';

let p: TestPlatform;
let fixtures: Images;
let server: ImageServer;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-images-')));
  server = await serveImages(fixtures.dir);
});
after(async () => {
  await p.cleanup();
  await server.close();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

/** A tiny VM whose disks are identified in the guest by serial: `root` (scratch) and one per volume. */
function tinyWithDisks(name: string, volumes: string[], templates = ''): string {
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${name}}
spec:
  runStrategy: Always
${templates}  template:
    spec:
      terminationGracePeriodSeconds: 10
      domain:
        memory: {guest: 128Mi}
        devices:
          disks:
          - {name: root, serial: root, disk: {}}
          - {name: cloudinit, disk: {}}
${volumes.map((v) => `          - {name: ${v.split(':')[0]}, serial: ${v.split(':')[0]}, disk: {}}\n`).join('')}      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\\necho booted"}}
${volumes
  .map((v) => {
    const [disk = '', kind = '', claim = ''] = v.split(':');
    return kind === 'dv'
      ? `      - {name: ${disk}, dataVolume: {name: ${claim}}}\n`
      : `      - {name: ${disk}, persistentVolumeClaim: {claimName: ${claim}}}\n`;
  })
  .join('')}`;
}

/** The guest's block device of the disk with this serial. */
const dev = (serial: string): string =>
  `$(for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${serial} ] && echo /dev/\${d##*/}; done)`;
const sectors = (serial: string): string =>
  `cat /sys/block/$(for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = ${serial} ] && echo \${d##*/}; done)/size`;
const write = (serial: string, text: string): string =>
  `echo ${text} | dd of=${dev(serial)} bs=512 seek=4096 conv=fsync 2>/dev/null; sync`;
const read = (serial: string): string =>
  `dd if=${dev(serial)} bs=512 skip=4096 count=1 2>/dev/null | head -n1 | tr -d '\\000'`;

async function boot(name: string): Promise<Console> {
  try {
    await waitStatus(p, name, 'Running', 120_000);
  } catch (err) {
    const vmi = await p.kubectl(['get', 'vmi', name, '-o', 'yaml']);
    const v = await vm(p, name);
    throw new Error(
      `${(err as Error).message}\nVM status: ${JSON.stringify(v.status)}\nVMI: ${vmi.stdout.slice(-1500)}${vmi.stderr}`,
    );
  }
  const c = await openConsole(p, name);
  await c.waitFor(/hikube-tiny: ready/, 60_000);
  return c;
}

async function stopped(name: string): Promise<void> {
  await hikube(['stop', name, '--wait']);
  await eventually(
    async () => (await p.kubectl(['get', 'vmi', name])).code !== 0,
    `VMI ${name} to be gone`,
    30_000,
    200,
  );
}

describe('a guest on persistent disks', () => {
  test('import, write, grow online, persistence across restarts and re-creation, scratch is ephemeral', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: data}\nspec:\n  source: {http: {url: ${server.url}/disk.qcow2}}\n  storage: {resources: {requests: {storage: 64Mi}}}\n`,
    );
    await eventually(
      async () =>
        (await json<{ status?: { phase?: string } }>(['get', 'dv', 'data'])).status?.phase === 'Succeeded',
      'data imported',
      30_000,
      200,
    );
    await kubectl(['apply', '-f', '-'], tinyWithDisks('tiny-a', ['data:pvc:data']));
    let c = await boot('tiny-a');
    try {
      assert.equal(
        await sh(c, `head -c ${GOLDEN.length - 1} ${dev('data')}`),
        GOLDEN.trim(),
        'the imported image',
      );
      assert.equal(await sh(c, sectors('data')), String((64 * 1048576) / 512));
      await sh(c, write('data', 'persist-marker-1'));
      await sh(c, write('root', 'scratch-marker-1'));
      assert.equal(await sh(c, read('data')), 'persist-marker-1');
      assert.equal(await sh(c, read('root')), 'scratch-marker-1');

      // Online resize: the claim grows while the guest runs; the guest sees it without a reboot.
      await kubectl([
        'patch',
        'pvc',
        'data',
        '--type',
        'merge',
        '-p',
        '{"spec":{"resources":{"requests":{"storage":"96Mi"}}}}',
      ]);
      await eventually(
        async () => (await sh(c, sectors('data'))) === String((96 * 1048576) / 512),
        'the guest to see 96Mi',
        20_000,
        500,
      );
      const pvc = await json<{ status: { capacity: { storage: string } } }>(['get', 'pvc', 'data']);
      assert.equal(pvc.status.capacity.storage, '96Mi');
      const events = await json<{
        items: { involvedObject: { name: string }; reason: string; message: string }[];
      }>(['get', 'events']);
      assert.ok(
        events.items.some(
          (e) =>
            e.involvedObject.name === 'data' &&
            e.reason === 'VolumeResizeSuccessful' &&
            /online: the running guest sees the new size/.test(e.message),
        ),
        'a VolumeResizeSuccessful event saying it was online',
      );
    } finally {
      c.close();
    }

    await stopped('tiny-a');
    await hikube(['start', 'tiny-a', '--wait']);
    c = await boot('tiny-a');
    try {
      assert.equal(await sh(c, read('data')), 'persist-marker-1', 'the PVC keeps what was written');
      assert.equal(await sh(c, read('root')), '', 'the containerDisk scratch starts blank again');
      assert.equal(await sh(c, sectors('data')), String((96 * 1048576) / 512));
    } finally {
      c.close();
    }

    await kubectl(['delete', 'vm', 'tiny-a']);
    await eventually(
      async () => (await p.kubectl(['get', 'vmi', 'tiny-a'])).code !== 0,
      'tiny-a gone',
      30_000,
      200,
    );
    await kubectl(['apply', '-f', '-'], tinyWithDisks('tiny-a', ['data:pvc:data']));
    c = await boot('tiny-a');
    try {
      assert.equal(
        await sh(c, read('data')),
        'persist-marker-1',
        'a new VM on the same claim finds the data',
      );
    } finally {
      c.close();
    }
    await stopped('tiny-a');
  });

  test('dataVolumeTemplates: Provisioning, a clone through a DataSource, an import; pvc-protection while running', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataSource\nmetadata: {name: golden}\nspec: {source: {pvc: {name: data}}}\n`,
    );
    const templates = `  dataVolumeTemplates:
  - metadata: {name: tiny-b-clone}
    spec:
      sourceRef: {kind: DataSource, name: golden}
      storage: {resources: {requests: {storage: 128Mi}}}
  - metadata: {name: tiny-b-http}
    spec:
      source: {http: {url: ${server.url}/late/disk.raw}}
      storage: {resources: {requests: {storage: 32Mi}}}
`;
    await kubectl(
      ['apply', '-f', '-'],
      tinyWithDisks('tiny-b', ['clone:dv:tiny-b-clone', 'fresh:dv:tiny-b-http'], templates),
    );
    const provisioning = await waitStatus(p, 'tiny-b', 'Provisioning', 10_000);
    assert.equal(
      provisioning.status?.conditions?.find((x) => x.type === 'DataVolumesReady')?.status,
      'False',
    );
    const owners = await json<{
      items: { metadata: { name: string; ownerReferences: { kind: string; name: string }[] } }[];
    }>(['get', 'dv']);
    assert.deepEqual(
      owners.items
        .filter((d) => d.metadata.name.startsWith('tiny-b'))
        .map(
          (d) =>
            `${d.metadata.name} ${d.metadata.ownerReferences[0]?.kind ?? ''}/${d.metadata.ownerReferences[0]?.name ?? ''}`,
        ),
      ['tiny-b-clone VirtualMachine/tiny-b', 'tiny-b-http VirtualMachine/tiny-b'],
    );
    const c = await boot('tiny-b');
    let path: string;
    try {
      assert.equal(await sh(c, read('clone')), 'persist-marker-1', 'the clone carries the golden disk');
      assert.equal(await sh(c, sectors('clone')), String((128 * 1048576) / 512));
      assert.equal(await sh(c, `head -c ${GOLDEN.length - 1} ${dev('fresh')}`), GOLDEN.trim());

      const claim = await json<{ spec: { volumeName: string } }>(['get', 'pvc', 'tiny-b-http']);
      const pv = await json<{ spec: { hostPath: { path: string } } }>(['get', 'pv', claim.spec.volumeName]);
      path = pv.spec.hostPath.path;
      await kubectl(['delete', 'pvc', 'tiny-b-http', '--wait=false']);
      await new Promise((r) => setTimeout(r, 1000));
      const held = await json<{ metadata: { deletionTimestamp?: string; finalizers?: string[] } }>([
        'get',
        'pvc',
        'tiny-b-http',
      ]);
      assert.ok(held.metadata.deletionTimestamp !== undefined, 'the claim is Terminating');
      assert.deepEqual(held.metadata.finalizers, ['kubernetes.io/pvc-protection']);
      assert.ok(existsSync(path), 'the disk stays while the guest runs');
      assert.equal(
        await sh(c, `head -c ${GOLDEN.length - 1} ${dev('fresh')}`),
        GOLDEN.trim(),
        'and the guest still reads it',
      );
    } finally {
      c.close();
    }
    await stopped('tiny-b');
    await eventually(
      async () => (await p.kubectl(['get', 'pvc', 'tiny-b-http'])).code !== 0,
      'the claim to go once the guest stopped',
      20_000,
      200,
    );
    await eventually(() => !existsSync(path), 'its disk file to go');
    await kubectl(['delete', 'vm', 'tiny-b']);
  });

  test('a VM whose DataVolume cannot be imported is DataVolumeError, with the reason', async () => {
    const templates = `  dataVolumeTemplates:
  - metadata: {name: tiny-c-root}
    spec:
      source: {http: {url: ${server.url}/no-such.qcow2}}
      storage: {resources: {requests: {storage: 16Mi}}}
`;
    await kubectl(['apply', '-f', '-'], tinyWithDisks('tiny-c', ['disk:dv:tiny-c-root'], templates));
    const v = await waitStatus(p, 'tiny-c', 'DataVolumeError', 20_000);
    const failure = v.status?.conditions?.find((x) => x.type === 'Failure');
    assert.equal(failure?.reason, 'DataVolumeError');
    assert.match(failure?.message ?? '', /DataVolume tiny-c-root failed: HTTP 404 Not Found/);
    assert.match(await kubectl(['get', 'vm', 'tiny-c']), /tiny-c\s+\S+\s+DataVolumeError\s+False/);
    assert.equal((await p.kubectl(['get', 'vmi', 'tiny-c'])).code, 1, 'no VMI while the disk is not there');
    assert.equal((await vm(p, 'tiny-c')).status?.printableStatus, 'DataVolumeError');
    await kubectl(['delete', 'vm', 'tiny-c']);
  });
});
