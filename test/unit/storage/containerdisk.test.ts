/**
 * The node's containerDisk cache without guests: what a reference resolves to (the local store
 * first, catalog short names, full references, nothing else), and the kubelet-like reporting of a
 * failed pull on a fake clock: Pulling, then ErrImagePull shown to each VMI at least once, then
 * ImagePullBackOff until the next try, with the delay doubling. The pulls go to a closed loopback
 * port (connection refused), so no traffic leaves the machine.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { OutboundPolicy } from '../../../src/network/outbound.js';
import {
  ContainerDisks,
  mirrorFor,
  parseMirrors,
  type Acquired,
} from '../../../src/storage/containerdisk.js';
import { ImageStore } from '../../../src/storage/images.js';
import { findOsImage } from '../../../src/storage/os-catalog.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { eventually } from '../../support/wait.js';

/** The test's registries listen on loopback. */
const LOOPBACK: OutboundPolicy = { allowPrivateTargets: true };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hikube-cd-unit-'));
  mkdirSync(join(dir, 'local'));
  writeFileSync(
    join(dir, 'local', 'image.json'),
    JSON.stringify({ name: 'ubuntu:22.04', aliases: [], disk: null, format: 'qcow2' }),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('what a containerDisk reference names', () => {
  test('full references and catalog short names', () => {
    assert.equal(ContainerDisks.target('127.0.0.1:5000/disks/tiny:1'), '127.0.0.1:5000/disks/tiny:1');
    assert.equal(
      ContainerDisks.target('docker://quay.io/containerdisks/fedora:40'),
      'quay.io/containerdisks/fedora:40',
    );
    assert.equal(ContainerDisks.target('ubuntu:22.04'), 'quay.io/containerdisks/ubuntu:22.04');
    assert.equal(ContainerDisks.target('debian:bookworm'), 'quay.io/containerdisks/debian:12');
    assert.equal(ContainerDisks.target('hikube/tiny'), undefined);
    assert.equal(ContainerDisks.target('plan9:4'), undefined);
  });

  test('catalog names in their spellings', () => {
    for (const n of ['ubuntu-2204', 'ubuntu-22.04', 'ubuntu:22.04', 'ubuntu:jammy'])
      assert.equal(findOsImage(n)?.name, 'ubuntu-2204', n);
    assert.equal(findOsImage('windows-2022')?.preference, 'windows');
    assert.equal(findOsImage('nope'), undefined);
  });

  test('mirrors: its own entry, else the catch-all, never for a loopback registry', () => {
    const m = { 'quay.io': 'mirror:5000', '*': '127.0.0.1:1' };
    assert.equal(mirrorFor(m, 'quay.io'), 'mirror:5000');
    assert.equal(mirrorFor(m, 'registry-1.docker.io'), '127.0.0.1:1');
    assert.equal(mirrorFor(m, '127.0.0.1:5000'), undefined);
    assert.equal(mirrorFor(m, 'localhost:5000'), undefined);
    assert.equal(mirrorFor(undefined, 'quay.io'), undefined);
  });

  test('mirrors', () => {
    assert.deepEqual(parseMirrors('quay.io=127.0.0.1:5000, docker.io=localhost:1 ,bad'), {
      'quay.io': '127.0.0.1:5000',
      'docker.io': 'localhost:1',
    });
  });
});

describe('pulling and backing off', () => {
  test('the local store wins; an unknown short name fails at once', () => {
    const cd = new ContainerDisks({
      store: new ImageStore([dir]),
      dir,
      images: qemuImgTool,
      targets: LOOPBACK,
    });
    const local = cd.acquire('ubuntu:22.04', 'a');
    assert.equal(local.state, 'ready');
    const unknown = cd.acquire('plan9:4', 'a');
    assert.equal(unknown.state, 'failed');
    assert.match(unknown.state === 'failed' ? unknown.message : '', /names no registry/);
  });

  test('Pulling, ErrImagePull for each VMI, ImagePullBackOff, then a new try after 10 s, then 20 s', async () => {
    let now = 1_000_000;
    const cd = new ContainerDisks({
      store: new ImageStore([dir]),
      dir,
      images: qemuImgTool,
      targets: LOOPBACK,
      now: () => now,
    });
    const ref = '127.0.0.1:1/disks/tiny:1';
    const first = cd.acquire(ref, 'a');
    assert.equal(first.state, 'pulling');
    const failed = await eventually(
      () => {
        const r = cd.acquire(ref, 'a');
        return r.state === 'failed' ? r : undefined;
      },
      'the pull to fail',
      10_000,
      20,
    );
    const reason = (r: Acquired): string => (r.state === 'failed' ? r.reason : r.state);
    assert.equal(reason(failed), 'ErrImagePull');
    assert.match(failed.message, /failed to pull image "127\.0\.0\.1:1\/disks\/tiny:1": .*connection failed/);
    now += 5000; // past the ErrImagePull window: a VMI that saw it backs off, a new one sees it once
    assert.equal(reason(cd.acquire(ref, 'a')), 'ImagePullBackOff');
    assert.equal(reason(cd.acquire(ref, 'b')), 'ErrImagePull');
    const back = cd.acquire(ref, 'b');
    assert.equal(reason(back), 'ImagePullBackOff');
    assert.match(back.state === 'failed' ? back.message : '', /^Back-off pulling image/);
    assert.equal(back.state === 'failed' ? back.retryInMs : 0, 5000);
    now += 5000; // 10 s after the failure: a new try
    assert.equal(cd.acquire(ref, 'a').state, 'pulling');
    const again = await eventually(
      () => {
        const r = cd.acquire(ref, 'a');
        return r.state === 'failed' ? r : undefined;
      },
      'the second pull to fail',
      10_000,
      20,
    );
    now += 5000;
    const second = cd.acquire(ref, 'a');
    assert.equal(reason(again), 'ErrImagePull');
    assert.equal(reason(second), 'ImagePullBackOff');
    assert.equal(second.state === 'failed' ? second.retryInMs : 0, 15_000, 'the second back-off is 20 s');
  });
});
