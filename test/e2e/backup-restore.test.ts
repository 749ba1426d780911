/**
 * Restores end to end (issue 17), with the real CLI and kubectl against a real platform booting
 * tiny QEMU guests, on the default local BackupStrategy. In place on a running Hikube VMInstance:
 * a RestoreJob without `backups.hikube.io/stop-running-vm` is refused with the reason (Failed, the
 * VM untouched: same QEMU, same data, still answering); with it (`--stop`), the VM is stopped, its
 * data disk rewritten, its spec put back (a field changed after the backup is gone) and started
 * again, and the guest reads the backed-up checksum. Into a KubeVirt VirtualMachine: a
 * kubevirt.io/v1 VM with a DataVolume disk is backed up, deleted, restored into a new VM that
 * boots with the same data. One guest serves every in-place case (TCG boots are slow).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Console, guestPids, openConsole, sh, waitStatus } from '../support/guest.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { makeImages, serveImages, type ImageServer, type Images } from '../unit/storage/image-server.js';

let p: TestPlatform;
let fixtures: Images;
let images: ImageServer;
const consoles: Console[] = [];

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-restore-images-')));
  images = await serveImages(fixtures.dir);
});
after(async () => {
  for (const c of consoles) c.close();
  await p?.cleanup();
  await images?.close();
  if (fixtures !== undefined) await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);

/** The data disk: the one of 128 MiB. */
const DEV = `$(for d in /sys/block/vd*; do [ "$(cat $d/size)" = 262144 ] && echo /dev/\${d##*/}; done)`;
const write = (c: Console, word: string): Promise<string> =>
  sh(c, `yes ${word} | head -c 2097152 | dd of=${DEV} bs=1M seek=4 conv=fsync 2>/dev/null`);
const md5 = async (c: Console): Promise<string> =>
  (await sh(c, `dd if=${DEV} bs=1M skip=4 count=2 2>/dev/null | md5sum`)).split(/\s+/)[0] ?? '';

async function boot(vm: string): Promise<Console> {
  await waitStatus(p, vm, 'Running', 240_000);
  const c = await openConsole(p, vm);
  consoles.push(c);
  await c.waitFor(/hikube-tiny: ready/, 180_000);
  return c;
}

interface Job {
  metadata?: { annotations?: Record<string, string> };
  status?: { phase?: string; message?: string };
  spec?: Record<string, unknown>;
}
const get = async (kind: string, name: string): Promise<Job> =>
  JSON.parse(await kubectl(['get', kind, name, '-o', 'json'])) as Job;

describe('restores', () => {
  test('in place on a running VMInstance: refused without the annotation, done with it', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata:
  name: vm-root
  annotations:
    vm-disk.hikube.io/kernel-image: hikube/tiny
spec:
  source:
    http:
      url: ${images.url}/disk.qcow2
  storage: 64Mi
---
apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata: {name: vm-data}
spec: {storage: 128Mi}
---
apiVersion: apps.cozystack.io/v1alpha1
kind: VMInstance
metadata: {name: vm}
spec:
  instanceType: ""
  instanceProfile: ""
  resources: {cpu: 1, sockets: 1, memory: 128Mi}
  disks:
  - name: vm-root
  - name: vm-data
`,
    );
    const c = await boot('vm-instance-vm');
    await write(c, 'backed-up');
    const backedUp = await md5(c);
    await hikube(['backup', 'create', 'vm', '--name', 'vm-one', '--wait', '--timeout', '600']);
    assert.equal((await get('backups.backups.cozystack.io', 'vm-one')).status?.phase, 'Ready');

    // After the backup: other data, and a spec field the backup does not have.
    await write(c, 'changed-after');
    const changed = await md5(c);
    assert.notEqual(changed, backedUp);
    await kubectl([
      'patch',
      'vminstance',
      'vm',
      '--type',
      'merge',
      '-p',
      '{"spec":{"externalPorts":[2222]}}',
    ]);
    const qemu = guestPids(p, 'vm-instance-vm');
    assert.equal(qemu.length, 1);

    // Without the annotation: refused with the reason; the VM runs on untouched.
    const refused = await p.hikube([
      'backup',
      'restore',
      'vm-one',
      '--name',
      'no-stop',
      '--wait',
      '--timeout',
      '300',
    ]);
    assert.notEqual(refused.code, 0, refused.stdout);
    const r1 = await get('restorejobs.backups.cozystack.io', 'no-stop');
    assert.equal(r1.status?.phase, 'Failed');
    assert.match(
      r1.status?.message ?? '',
      /^restore failed: VMInstance vm is running: stop it first, or set the annotation backups\.hikube\.io\/stop-running-vm: "true"/,
    );
    assert.deepEqual(guestPids(p, 'vm-instance-vm'), qemu, 'the same QEMU runs');
    assert.equal(await md5(c), changed, 'the disk was not touched');
    assert.deepEqual((await get('vminstance', 'vm')).spec?.['externalPorts'], [2222]);

    // With it (--stop): stopped, disk and spec put back, started again.
    await hikube(['backup', 'restore', 'vm-one', '--stop', '--name', 'stop', '--wait', '--timeout', '600']);
    const r2 = await get('restorejobs.backups.cozystack.io', 'stop');
    assert.equal(r2.metadata?.annotations?.['backups.hikube.io/stop-running-vm'], 'true');
    assert.equal(r2.status?.phase, 'Succeeded', r2.status?.message);
    const spec = (await get('vminstance', 'vm')).spec ?? {};
    assert.equal(spec['externalPorts'], undefined, 'the spec of the backup is back');
    assert.equal(spec['runStrategy'], 'Always', 'started again as it ran before');
    const again = await boot('vm-instance-vm');
    assert.notDeepEqual(guestPids(p, 'vm-instance-vm'), qemu, 'a new QEMU: the VM was stopped');
    assert.equal(await md5(again), backedUp, 'the backed-up data is back');
    await kubectl(['delete', 'vminstance', 'vm', '--wait=true']);
  });

  test('into a new KubeVirt VirtualMachine with a DataVolume disk: it boots with the data', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: kv}
spec:
  runStrategy: Always
  dataVolumeTemplates:
  - metadata: {name: kv-data}
    spec:
      source: {blank: {}}
      storage: {resources: {requests: {storage: 128Mi}}}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        devices:
          disks:
          - {name: root, disk: {}}
          - {name: data, disk: {}}
        memory: {guest: 128Mi}
      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: data, dataVolume: {name: kv-data}}
`,
    );
    const c = await boot('kv');
    await write(c, 'kubevirt-data');
    const data = await md5(c);
    await hikube(['backup', 'create', 'kv', '--name', 'kv-one', '--wait', '--timeout', '600']);
    const backup = await get('backups.backups.cozystack.io', 'kv-one');
    assert.equal(backup.status?.phase, 'Ready');
    assert.equal((backup.spec?.['applicationRef'] as { kind?: string } | undefined)?.kind, 'VirtualMachine');
    // The source goes, with its DataVolume: the copy owes nothing to it.
    await kubectl(['delete', 'vm', 'kv', '--wait=true']);
    await kubectl(['delete', 'datavolume', 'kv-data', '--ignore-not-found', '--wait=true']);

    await hikube([
      'backup',
      'restore',
      'kv-one',
      '--to',
      'kv2',
      '--name',
      'kv-back',
      '--wait',
      '--timeout',
      '600',
    ]);
    const vm = await get('vm', 'kv2');
    const volumes =
      (vm.spec?.['template'] as { spec?: { volumes?: { name: string; dataVolume?: unknown }[] } }).spec
        ?.volumes ?? [];
    assert.deepEqual(volumes.find((v) => v.name === 'data')?.dataVolume, { name: 'kv2-data' });
    const copy = await boot('kv2');
    assert.equal(await md5(copy), data, 'the restored VM reads the backed-up data');
  });

  test('a plan made by the CLI carries its job history limits; a bad one is refused by field', async () => {
    await hikube([
      'backup',
      'plan',
      'create',
      'hist',
      '--app',
      'kv2',
      '--schedule',
      '0 3 * * *',
      '--successful-jobs-history-limit',
      '2',
      '--failed-jobs-history-limit',
      '0',
    ]);
    const plan = await get('plans.backups.cozystack.io', 'hist');
    assert.deepEqual(plan.metadata?.annotations, {
      'backups.hikube.io/successful-jobs-history-limit': '2',
      'backups.hikube.io/failed-jobs-history-limit': '0',
    });
    const bad = await p.hikube([
      'backup',
      'plan',
      'create',
      'bad',
      '--app',
      'kv2',
      '--schedule',
      '0 3 * * *',
      '--failed-jobs-history-limit',
      'all',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /metadata\.annotations\[backups\.hikube\.io\/failed-jobs-history-limit\]/);
    await hikube(['backup', 'plan', 'delete', 'hist']);
  });
});
