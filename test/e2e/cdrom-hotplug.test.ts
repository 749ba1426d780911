/**
 * An empty CD-ROM tray filled and emptied while the guest runs (KubeVirt's declarative hotplug of
 * cdrom volumes): one tiny guest boots with a SATA cdrom and no medium; a claim added to the VM with
 * kubectl patch reaches the running VMI and the guest can read it; removed again, the guest finds no
 * medium. The same VMI throughout, and the VM never asks for a restart.
 *
 * The guest's kernel keeps /sys/block/sr0/size from its last look (2097151 sectors before any medium,
 * the old size after an eject), so the guest opens the drive: reading succeeds with a medium, fails
 * with "No medium found" without one, and the size read after a successful open is the medium's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sh } from '../support/disk-guest.js';
import { openConsole, waitStatus, type Console } from '../support/guest.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NAME = 'cdrom-tray';
/** The claim is 64 MiB: 131072 sectors of 512 bytes. */
const MEDIUM_SECTORS = '131072';

const manifests = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cd-medium}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: ${NAME}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {guest: 128Mi}
        devices:
          disks:
          - {name: root, disk: {}}
          - {name: cloudinit, disk: {}}
          - {name: installer, cdrom: {bus: sata}}
      volumes:
      - {name: root, containerDisk: {image: hikube/tiny}}
      - {name: cloudinit, cloudInitNoCloud: {userData: "#!/bin/sh\\necho booted"}}
`;

/** What the guest sees in its CD-ROM drive. The first read after a change may fail once (unit attention). */
const LOOK =
  'if [ ! -e /sys/block/sr0 ]; then echo "no drive"; ' +
  'elif dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>/dev/null || dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>/dev/null; ' +
  'then echo "medium $(cat /sys/block/sr0/size)"; else echo "no medium"; fi';

let p: TestPlatform;
let c: Console | undefined;

before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  c?.close();
  await p.cleanup();
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

async function guestSees(want: string): Promise<void> {
  let last = '';
  try {
    await eventually(
      async () => {
        if (c === undefined) return undefined;
        last = await sh(c, LOOK);
        return last === want ? true : undefined;
      },
      `the guest to see "${want}"`,
      60_000,
      1000,
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; it saw "${last}"`);
  }
}

const vmiUid = async (): Promise<string> =>
  (await kubectl(['get', 'vmi', NAME, '-o', 'jsonpath={.metadata.uid}'])).trim();
const restartRequired = async (): Promise<string> =>
  (
    await kubectl([
      'get',
      'vm',
      NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="RestartRequired")].status}',
    ])
  ).trim();
const mediumStatus = async (): Promise<string> =>
  (
    await kubectl(['get', 'vmi', NAME, '-o', 'jsonpath={.status.volumeStatus[?(@.name=="installer")].phase}'])
  ).trim();
const vmiVolumes = async (): Promise<string> =>
  (await kubectl(['get', 'vmi', NAME, '-o', 'jsonpath={.spec.volumes[*].name}'])).trim();

describe('an empty CD-ROM tray filled live', { timeout: 600_000 }, () => {
  test('boots empty, takes a claim as its medium, and gives it back, without a restart', async () => {
    await kubectl(['apply', '-f', '-'], manifests);
    await waitStatus(p, NAME, 'Running', 180_000);
    c = await openConsole(p, NAME);
    await c.waitFor(/hikube-tiny: ready/, 180_000);
    const uid = await vmiUid();
    const look = await sh(c, LOOK);
    assert.notEqual(
      look,
      'no drive',
      'the guest has no CD-ROM drive: is hikube/tiny built with ahci and sr_mod?',
    );
    assert.equal(look, 'no medium');

    await kubectl([
      'patch',
      'vm',
      NAME,
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/template/spec/volumes/-',
          value: { name: 'installer', persistentVolumeClaim: { claimName: 'cd-medium' } },
        },
      ]),
    ]);
    await guestSees(`medium ${MEDIUM_SECTORS}`);
    assert.equal(await vmiUid(), uid, 'the same VMI runs on');
    assert.equal(await vmiVolumes(), 'root cloudinit installer');
    assert.equal(await restartRequired(), '', 'a medium change asks for no restart');
    await eventually(
      async () => ((await mediumStatus()) === 'Ready' ? true : undefined),
      'volumeStatus Ready',
    );

    await kubectl([
      'patch',
      'vm',
      NAME,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'test', path: '/spec/template/spec/volumes/2/name', value: 'installer' },
        { op: 'remove', path: '/spec/template/spec/volumes/2' },
      ]),
    ]);
    await guestSees('no medium');
    assert.equal(await vmiUid(), uid);
    assert.equal(await vmiVolumes(), 'root cloudinit');
    assert.equal(await restartRequired(), '');
    await eventually(async () => ((await mediumStatus()) === '' ? true : undefined), 'volumeStatus gone');
  });
});
