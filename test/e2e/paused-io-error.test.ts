/**
 * A guest whose disk lives on a full filesystem: QEMU pauses it on the failed write (werror=stop),
 * and the VMI and VM show `Paused` with KubeVirt's reason `PausedIOError`, not `PausedByUser`.
 * The disk is a claim of a StorageClass whose pool is a small tmpfs the test mounts and fills;
 * one tiny guest writes to it from its user-data.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VMIS, VMS, waitStatus } from '../support/guest.js';
import { raw } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { eventually } from '../support/wait.js';

const NAME = 'ioerr';

/** Writes into `path` until the filesystem refuses more (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

const userData = [
  '#!/bin/sh',
  'for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = data ] && dev=/dev/${d##*/}; done',
  'echo "filling $dev"',
  'dd if=/dev/urandom of=$dev bs=1M count=32 conv=fsync',
].join('\n');

const storageClass = (pool: string): string =>
  JSON.stringify({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'small-tmpfs' },
    provisioner: 'hikube.io/local-pool',
    parameters: { path: pool },
  });
const claim = JSON.stringify({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'small', namespace: 'default' },
  spec: {
    storageClassName: 'small-tmpfs',
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '256Mi' } },
  },
});

const vmManifest = JSON.stringify({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: NAME, namespace: 'default' },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        terminationGracePeriodSeconds: 0,
        domain: {
          memory: { guest: '128Mi' },
          devices: {
            disks: [
              { name: 'root', disk: {} },
              { name: 'data', serial: 'data', disk: {} },
              { name: 'cloudinit', disk: {} },
            ],
          },
        },
        volumes: [
          { name: 'root', containerDisk: { image: 'hikube/tiny' } },
          { name: 'data', persistentVolumeClaim: { claimName: 'small' } },
          { name: 'cloudinit', cloudInitNoCloud: { userData } },
        ],
      },
    },
  },
});

describe('a guest paused on a disk error', () => {
  let fs: Tmpfs | undefined;
  let pool: string;
  let p: TestPlatform;
  let started: TestPlatform | undefined;

  before(async () => {
    // Over the pool's low-water mark (64 MiB) while empty, so the claim is provisioned.
    fs = await mountTmpfs('hikube-ioerr-', 80);
    pool = fs.dir;
    started = p = await startTestPlatform();
  });

  after(async () => {
    try {
      await started?.cleanup(); // kills the guest's QEMU, which holds the disk on the tmpfs
    } finally {
      await fs?.remove();
    }
  });

  test('shows Paused with reason PausedIOError on the VMI and the VM', async () => {
    const created = async (path: string, body: string): Promise<void> => {
      const r = await raw(p, 'POST', path, body);
      assert.equal(r.code, 201, r.body);
    };
    await created('/apis/storage.k8s.io/v1/storageclasses', storageClass(pool));
    await created('/api/v1/namespaces/default/persistentvolumeclaims', claim);
    const phase = async (): Promise<string | undefined> =>
      (
        (await raw(p, 'GET', '/api/v1/namespaces/default/persistentvolumeclaims/small')).json as {
          status?: { phase?: string };
        }
      ).status?.phase;
    await eventually(async () => (await phase()) === 'Bound', 'the claim bound', 30_000, 200);
    fill(join(pool, 'filler'));
    await created(VMS, vmManifest);

    const v = await waitStatus(p, NAME, 'Paused', 180_000);
    const paused = v.status?.conditions?.find((c) => c.type === 'Paused');
    assert.equal(paused?.reason, 'PausedIOError', JSON.stringify(v.status));
    const vmi = (await raw(p, 'GET', `${VMIS}/${NAME}`)).json as {
      status?: { conditions?: { type: string; reason?: string; message?: string }[] };
    };
    const vmiPaused = vmi.status?.conditions?.find((c) => c.type === 'Paused');
    assert.equal(vmiPaused?.reason, 'PausedIOError');
    assert.match(vmiPaused?.message ?? '', /IO error/);
  });
});
