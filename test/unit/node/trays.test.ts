/**
 * The node agent's decision on CD-ROM media (src/node/trays.ts): insert what a tray lacks, eject
 * what it should not hold, leave a tray alone that already holds its medium (also the overlay a
 * containerDisk got at boot), and only ever insert platform volumes read-only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import type { ImageSource } from '../../../src/storage/containerdisk.js';
import { syncTrays, trayActions, trayVolumeStatus, type Medium } from '../../../src/node/trays.js';

const iso: Medium = { path: '/pool/iso.raw', format: 'raw' };

describe('tray actions', () => {
  test('insert into an empty tray, eject from one that should be empty, nothing when it matches', () => {
    const wanted = new Map<string, Medium | undefined>([
      ['a', iso],
      ['b', undefined],
      ['c', iso],
      ['d', undefined],
      ['gone', iso],
    ]);
    const held = new Map<string, string | undefined>([
      ['a', undefined],
      ['b', '/pool/old.raw'],
      ['c', '/pool/iso.raw'],
      ['d', undefined],
    ]);
    assert.deepEqual(trayActions(wanted, held), [
      { tray: 'a', op: 'insert', medium: iso },
      { tray: 'b', op: 'eject' },
    ]);
  });

  test('another medium replaces the one held; the boot overlay counts as the medium', () => {
    const image: Medium = { path: '/images/x/disk.qcow2', format: 'qcow2', also: ['/run/vm/a.qcow2'] };
    assert.deepEqual(trayActions(new Map([['a', iso]]), new Map([['a', '/pool/old.raw']])), [
      { tray: 'a', op: 'insert', medium: iso },
    ]);
    assert.deepEqual(trayActions(new Map([['a', image]]), new Map([['a', '/run/vm/a.qcow2']])), []);
  });
});

describe('syncing a guest', () => {
  // A claim's disk file, as the pool keeps it (a raw volume ends in .img).
  const pool = mkdtempSync(join(tmpdir(), 'hikube-trays-'));
  const claimFile = join(pool, 'iso.img');
  writeFileSync(claimFile, Buffer.alloc(4096));
  after(() => rmSync(pool, { recursive: true, force: true }));
  const vmi = (volumes: VirtualMachineInstance['spec']['volumes']): VirtualMachineInstance =>
    ({
      metadata: { name: 'v', namespace: 'ns', uid: 'u1' },
      spec: {
        domain: {
          devices: {
            disks: [
              { name: 'root' },
              { name: 'cd', cdrom: {} },
              { name: 'seed', cdrom: {} },
              { name: 'img', cdrom: {} },
            ],
          },
        },
        volumes,
      },
    }) as VirtualMachineInstance;
  const images: ImageSource = {
    acquire: () => ({ state: 'pulling', message: 'pulling', retryInMs: 1000 }),
  };
  const run = async (
    v: VirtualMachineInstance,
    held: Record<string, string | undefined>,
  ): Promise<{ calls: [string, unknown][]; waiting: boolean; loaded: string[] }> => {
    const calls: [string, unknown][] = [];
    const { waiting, loaded } = await syncTrays(v, {
      dir: '/run/vm',
      images,
      claimPath: (claim) => (claim === 'iso' ? claimFile : undefined),
      command: <T>(name: string, args?: Record<string, unknown>): Promise<T> => {
        if (name === 'query-block')
          return Promise.resolve(
            Object.entries(held).map(([tray, file]) => ({
              qdev: `disk-${tray}`,
              ...(file !== undefined ? { inserted: { file } } : {}),
            })) as T,
          );
        calls.push([name, args]);
        return Promise.resolve({} as T);
      },
      log: () => undefined,
    });
    return { calls, waiting, loaded };
  };

  test('a claim is inserted read-only by its file; a path the user wrote is never used', async () => {
    const r = await run(
      vmi([
        { name: 'root', containerDisk: { image: 'hikube/tiny' } },
        { name: 'cd', persistentVolumeClaim: { claimName: 'iso' } },
        { name: 'seed', hostDisk: { path: '/etc/shadow', type: 'Disk' } },
      ] as VirtualMachineInstance['spec']['volumes']),
      { cd: undefined, seed: undefined, img: undefined },
    );
    assert.deepEqual(r.calls, [
      [
        'blockdev-change-medium',
        { id: 'disk-cd', filename: claimFile, format: 'raw', 'read-only-mode': 'read-only' },
      ],
    ]);
    assert.equal(r.waiting, false);
    assert.deepEqual(r.loaded, ['cd']);
  });

  test('a removed medium is ejected; an image still being pulled is waited for', async () => {
    const r = await run(vmi([{ name: 'img', containerDisk: { image: 'hikube/iso' } }]), {
      cd: claimFile,
      img: undefined,
    });
    assert.deepEqual(r.calls, [['eject', { id: 'disk-cd', force: true }]]);
    assert.equal(r.waiting, true);
    assert.deepEqual(r.loaded, []);
  });

  test('an unbound claim is waited for, not ejected', async () => {
    const r = await run(vmi([{ name: 'cd', persistentVolumeClaim: { claimName: 'nope' } }]), {
      cd: undefined,
    });
    assert.deepEqual(r.calls, []);
    assert.equal(r.waiting, true);
  });
});

describe('volumeStatus of the trays', () => {
  test('a Ready hotplugged entry per loaded medium; an emptied tray loses its entry; others stay', () => {
    const other = { name: 'root', target: 'vda' };
    const filled = trayVolumeStatus([other], new Set(['cd', 'img']), ['cd']);
    assert.deepEqual(filled, [
      other,
      {
        name: 'cd',
        target: '',
        phase: 'Ready',
        reason: 'VolumeReady',
        message: 'Successfully attach hotplugged volume cd to VM',
        hotplugVolume: {},
      },
    ]);
    assert.deepEqual(trayVolumeStatus(filled, new Set(['cd', 'img']), []), [other]);
  });
});
