/**
 * Snapshots, restores and clones of a real guest (hikube/tiny under QEMU) with a PVC disk: what
 * the guest wrote comes back after a restore; a restore to a new VM and a clone leave the source
 * alone; a clone gets its own MAC and UUID. Bad requests get a 422 with one cause per field.
 * (snapshots-chain.test.ts: deleting a middle snapshot, snapshots under writes.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { boot as bootOn, gone as goneOn, read, sh, tinyOnClaim, write } from '../support/disk-guest.js';
import { vm, type Console } from '../support/guest.js';
import { kubectlOk, hikubeOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

interface Snap {
  status?: {
    phase?: string;
    readyToUse?: boolean;
    indications?: string[];
    virtualMachineSnapshotContentName?: string;
  };
}

const boot = (name: string): Promise<Console> => bootOn(p, name);
const gone = (kind: string, name: string): Promise<void> => goneOn(p, kind, name);

describe('snapshots of a running guest', () => {
  test('snapshot live, change, restore in place and to a new VM, clone with a new identity', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 64Mi}}\n`,
    );
    await kubectl(['apply', '-f', '-'], tinyOnClaim('src', 'data'));
    let c = await boot('src');
    await sh(c, write('first'));
    assert.equal(await sh(c, read), 'first');

    const out = await hikube(['snapshot', 'create', 'src', '--name', 's1', '--wait']);
    assert.match(out, /s1 created/);
    const s1 = await json<Snap>(['get', 'vmsnapshot', 's1']);
    assert.equal(s1.status?.phase, 'Succeeded');
    assert.equal(s1.status?.readyToUse, true);
    assert.deepEqual(s1.status?.indications, ['Online', 'NoGuestAgent']);
    const content = s1.status?.virtualMachineSnapshotContentName ?? '';
    assert.match(await kubectl(['get', 'vmsnapshotcontent', content]), /true/);
    assert.match(await hikube(['snapshot', 'list', 'src']), /s1\s+VirtualMachine\s+src\s+Succeeded\s+true/);

    // A paused guest is snapshotted without asking its agent anything: indication Paused.
    await hikube(['pause', 'src']);
    await hikube(['snapshot', 'create', 'src', '--name', 'while-paused', '--wait']);
    assert.deepEqual((await json<Snap>(['get', 'vmsnapshot', 'while-paused'])).status?.indications, [
      'Online',
      'Paused',
    ]);
    await hikube(['unpause', 'src']);
    await hikube(['snapshot', 'delete', 'while-paused']);

    // The guest keeps running on the new layer; the change is after the snapshot.
    await sh(c, write('second'));
    assert.equal(await sh(c, read), 'second');
    c.close();

    // Restore onto the running VM: StopTarget stops it, the disk comes back, then we start it.
    await hikube(['restore', 'src', 's1', '--stop', '--wait', '--name', 'r1']);
    const restored = await vm(p, 'src');
    assert.equal((restored as { spec?: { runStrategy?: string } }).spec?.runStrategy, 'Halted');
    await gone('vmi', 'src');
    // A snapshot of the stopped VM is taken offline: no Online indication.
    await hikube(['snapshot', 'create', 'src', '--name', 'offline', '--wait']);
    assert.deepEqual((await json<Snap>(['get', 'vmsnapshot', 'offline'])).status?.indications, []);
    await hikube(['start', 'src']);
    c = await boot('src');
    assert.equal(await sh(c, read), 'first', 'the restored disk reads what it held at the snapshot');
    await sh(c, write('fourth'));

    // Restore to a new VM: a new claim over the snapshot's layer; the source is left alone.
    await hikube(['restore', 'src', 's1', '--to', 'copy', '--wait']);
    const copy = await boot('copy');
    assert.equal(await sh(copy, read), 'first');
    await sh(copy, write('copywrite'));
    assert.equal(await sh(c, read), 'fourth', 'the source does not see the copy write');
    copy.close();

    // Clone: a new VM with its own MAC and firmware UUID, sharing nothing written after.
    await hikube(['clone', 'src', 'dolly', '--wait']);
    const dolly = await boot('dolly');
    assert.equal(await sh(dolly, read), 'fourth');
    await sh(dolly, write('dollywrite'));
    assert.equal(await sh(c, read), 'fourth');
    const macOf = async (name: string): Promise<string | undefined> =>
      (await json<{ status?: { interfaces?: { mac?: string }[] } }>(['get', 'vmi', name])).status
        ?.interfaces?.[0]?.mac;
    const uuidOf = async (name: string): Promise<string> => {
      const guest = p.agent.running().find((g) => g.name === name);
      assert.ok(guest, `${name} runs`);
      return (await guest.command<{ UUID: string }>('query-uuid')).UUID;
    };
    assert.equal(await macOf('src'), '02:00:00:aa:bb:cc');
    assert.notEqual(await macOf('dolly'), '02:00:00:aa:bb:cc');
    assert.equal(await uuidOf('src'), '5d307ca9-b3ef-428c-8861-06e72d69f223');
    assert.equal(await sh(c, 'hostname'), 'src-host');
    assert.equal(await sh(dolly, 'hostname'), 'dolly', 'the clone is named after itself');
    assert.notEqual(await uuidOf('dolly'), '5d307ca9-b3ef-428c-8861-06e72d69f223');
    dolly.close();
    c.close();
    await kubectl(['delete', 'vm', 'copy', 'dolly', '--wait=false']);

    // A full clone: its disk has no backing file, and the snapshot it took is gone.
    await hikube(['clone', 'src', 'sheep', '--full', '--wait']);
    const sheep = JSON.parse(await kubectl(['get', 'vm', 'sheep', '-o', 'json'])) as {
      spec: { template: { spec: { volumes: { persistentVolumeClaim?: { claimName: string } }[] } } };
    };
    const claim = sheep.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim
      ?.claimName;
    assert.ok(claim);
    const pv = (await kubectl(['get', 'pvc', claim, '-o', 'jsonpath={.spec.volumeName}'])).trim();
    const file = (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}'])).trim();
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '--output=json', file], { encoding: 'utf8' }),
    ) as {
      'backing-filename'?: string;
    };
    assert.equal(info['backing-filename'], undefined, 'a full clone reads no snapshot layer');
    await eventually(
      async () =>
        (
          await json<{ items: { metadata: { labels?: Record<string, string> } }[] }>(['get', 'vmsnapshot'])
        ).items.filter((s) => s.metadata.labels?.['clone.hikube.io/clone']?.startsWith('sheep') === true)
          .length === 0,
      'the full clone to delete its snapshot',
      30_000,
      200,
    );
    await kubectl(['delete', 'vm', 'sheep', '--wait=false']);
  });
});

describe('bad snapshot requests', () => {
  test('bad kind and deadline; a restore waits for a snapshot not ready; the CLI names a missing one; clone onto itself', async () => {
    const bad = await p.kubectl(
      ['create', '-f', '-'],
      `apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshot\nmetadata: {name: nope}\nspec:\n  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: missing}\n  failureDeadline: soon\n`,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.failureDeadline: Invalid value: "soon"/);
    // A VM that does not exist yet is accepted, as KubeVirt accepts it: the snapshot waits.
    await kubectl(
      ['create', '-f', '-'],
      `apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshot\nmetadata: {name: early}\nspec:\n  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: missing}\n`,
    );
    await kubectl(['delete', 'vmsnapshot', 'early']);
    const kind = await p.kubectl(
      ['create', '-f', '-'],
      `apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshot\nmetadata: {name: nope}\nspec:\n  source: {apiGroup: cdi.kubevirt.io, kind: DataVolume, name: data}\n`,
    );
    assert.match(kind.stderr, /spec.source.kind: Unsupported value: "DataVolume"/);
    assert.match(kind.stderr, /spec.source.apiGroup: Unsupported value: "cdi.kubevirt.io"/);

    // A snapshot that cannot finish (its VM's claim does not exist) is not ready: no restore of it.
    await kubectl(
      ['apply', '-f', '-'],
      tinyOnClaim('orphan', 'no-such-claim').replace('runStrategy: Always', 'runStrategy: Halted'),
    );
    await hikube(['snapshot', 'create', 'orphan', '--name', 'pending']);
    await kubectl(
      ['create', '-f', '-'],
      `apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineRestore\nmetadata: {name: r}\nspec:\n  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: orphan}\n  virtualMachineSnapshotName: pending\n`,
    );
    await eventually(
      async () =>
        /waiting for VirtualMachineSnapshot "pending" to be ready to use/.test(
          await kubectl(['get', 'vmrestore', 'r', '-o', 'jsonpath={.status.conditions[*].message}']),
        ),
      'the restore to wait for its snapshot',
    );
    await kubectl(['delete', 'vmrestore', 'r']);
    const noSnap = await p.hikube(['restore', 'orphan', 'ghost']);
    assert.notEqual(noSnap.code, 0);
    assert.match(noSnap.stderr, /VirtualMachineSnapshot "ghost" does not exist/);
    const onto = await p.kubectl(
      ['create', '-f', '-'],
      `apiVersion: clone.kubevirt.io/v1beta1\nkind: VirtualMachineClone\nmetadata: {name: c}\nspec:\n  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: orphan}\n  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: orphan}\n  newMacAddresses: {default: "zz"}\n`,
    );
    assert.match(onto.stderr, /spec.target.name: Invalid value: target and source must be different VMs/);
    assert.match(onto.stderr, /spec.newMacAddresses.default: Invalid value: "zz": not a MAC address/);
  });
});
