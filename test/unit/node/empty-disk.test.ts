/**
 * emptyDisks are thin files in the data dir: one past what its filesystem may overcommit is not
 * made (the VMI waits with FailedCreateEmptyDisk), one within it is, with real qemu-img. The
 * filesystem's size is the one thing faked.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { genisoimage, qemuImg } from '../../../src/node/adapters.js';
import { UndoStack } from '../../../src/node/undo.js';
import { prepareVolumes, VolumeError, type VolumeContext } from '../../../src/node/volumes.js';
import type { ImageSource } from '../../../src/storage/containerdisk.js';

const Gi = 1024 * 1024 * 1024;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-emptydisk-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const vmi = (capacity: string): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'v', namespace: 'default', uid: 'u1' },
  spec: { domain: { devices: {} }, volumes: [{ name: 'scratch', emptyDisk: { capacity } }] },
});

const context = (): VolumeContext => ({
  dir,
  images: {} as ImageSource, // no containerDisk here: never asked
  disks: qemuImg,
  iso: genisoimage,
  secrets: () => undefined,
  claimPath: () => undefined,
  // A 1 GiB filesystem with room: 10 GiB of thin disk at most.
  capacity: { overcommit: 10, lowBytes: 0, space: () => Promise.resolve({ size: Gi, free: Gi }) },
  undo: new UndoStack(),
});

test('an emptyDisk past 10× its filesystem is refused, with the limit in the reason', async () => {
  await assert.rejects(
    prepareVolumes(vmi('11Gi'), context()),
    (err: unknown) =>
      err instanceof VolumeError &&
      err.reason === 'FailedCreateEmptyDisk' &&
      /over its limit of 10Gi/.test(err.message),
  );
  assert.equal(existsSync(join(dir, 'scratch.qcow2')), false);
});

test('an emptyDisk within the limit is made', async () => {
  const volumes = await prepareVolumes(vmi('2Gi'), context());
  assert.equal(volumes['scratch']?.path, join(dir, 'scratch.qcow2'));
  assert.ok(existsSync(join(dir, 'scratch.qcow2')));
});
