/**
 * A PVC's format is the pool's, never probed: a guest can write anything into a raw (Block)
 * volume, including a qcow2 header whose backing file names a host file. Opened as qcow2, the next
 * boot of that VM (or a clone of the volume) would read the host file; opened as raw it is bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { qemuImg } from '../../../src/node/adapters.js';
import { UndoStack } from '../../../src/node/undo.js';
import { prepareVolumes } from '../../../src/node/volumes.js';
import { populateFromFile } from '../../../src/storage/import/populate.js';
import { formatOfVolume } from '../../../src/storage/pool.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';

const SECRET = 'host secret of the node\n';
const dir = mkdtempSync(join(tmpdir(), 'hikube-volfmt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hostFile = join(dir, 'host-secret');
writeFileSync(hostFile, Buffer.concat([Buffer.from(SECRET), Buffer.alloc(65536 - SECRET.length)]));
// What a guest could leave in its raw volume: a qcow2 header backed by the host file.
const rawVolume = join(dir, 'pvc-guest.img');
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', hostFile, '-F', 'raw', rawVolume, '1M']);

const vmi = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'v', namespace: 'default', uid: 'u1' },
  spec: {
    domain: { devices: { disks: [{ name: 'data', disk: {} }] } },
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'guest' } }],
  },
} as unknown as VirtualMachineInstance;

describe('volume formats', () => {
  test('the format of a volume file comes from its name', () => {
    assert.equal(formatOfVolume('/pool/pvc-1.img'), 'raw');
    assert.equal(formatOfVolume('/pool/pvc-1.qcow2'), 'qcow2');
    assert.equal(formatOfVolume('/pool/pvc-1.qcow2.layers/abc.qcow2'), 'qcow2');
  });

  test('a raw volume holding a qcow2 header is given to the guest as raw', async () => {
    const prepared = await prepareVolumes(vmi, {
      dir,
      images: {
        acquire: () => ({ state: 'failed', reason: 'ErrImagePull', message: 'no images here', retryInMs: 0 }),
      },
      disks: qemuImg,
      iso: { build: () => Promise.reject(new Error('no ISO here')) },
      secrets: () => undefined,
      claimPath: (name) => (name === 'guest' ? rawVolume : undefined),
      undo: new UndoStack(),
    });
    assert.equal(prepared['data']?.format, 'raw');
  });

  test('a clone of that raw volume copies its bytes, not the host file', async () => {
    const target = join(dir, 'pvc-clone.img');
    await populateFromFile(
      rawVolume,
      'raw',
      { path: target, format: 'raw', bytes: 1 << 20 },
      { images: qemuImgTool },
    );
    const copied = readFileSync(target);
    assert.equal(copied.includes(SECRET), false);
    assert.ok(copied.subarray(0, 4).equals(Buffer.from('QFI\xfb', 'latin1')), 'the header is copied as data');
  });
});
