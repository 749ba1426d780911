/**
 * The inspection rule (src/storage/inspect.ts) on real images crafted by qemu-img: every image
 * that names another file (VMDK flat extents, a sparse VMDK pointing at a descriptor, a VMDK
 * parent, qcow2 backing and data files, differencing VHD/VHDX/VDI) is refused by the rule itself
 * and on every path an image enters by (http and CDI uploads: populateFromStream; containerDisk
 * pulls and `hikube image import`: intoImageStore), and no volume ever holds the host file's
 * bytes; self-contained formats still import.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImportError } from '../../../src/storage/import/errors.js';
import { inspect, intoImageStore } from '../../../src/storage/import/format.js';
import { populateFromStream } from '../../../src/storage/import/populate.js';
import { detectFile, openArgs } from '../../../src/storage/inspect.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { HOST_SECRET, leaks, makeEvilImages, type EvilImages } from './evil-images.js';

let images: EvilImages;
let work: string;

before(async () => {
  images = makeEvilImages(await mkdtemp(join(tmpdir(), 'hikube-evil-')));
  work = await mkdtemp(join(tmpdir(), 'hikube-inspect-'));
});
after(async () => {
  await rm(images.dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const refusal = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ImportError, String(err));
  assert.equal(err.reason, 'UnsupportedFormat');
  assert.match(err.message, pattern);
  return true;
};

/** Raw bytes of an image file as qemu-img reads it with its format given. */
const rawBytes = (path: string, format: string): Buffer => {
  const out = `${path}.check.raw`;
  execFileSync('qemu-img', ['convert', '-f', format, '-O', 'raw', path, out]);
  try {
    return readFileSync(out);
  } finally {
    execFileSync('rm', ['-f', out]);
  }
};

describe('the crafted images', () => {
  test('the ones naming a host file leak it when qemu-img is left to probe (the fixtures are real)', () => {
    // parent.vmdk is left out: qemu opens a VMDK parent as a VMDK, so it leaks only VMDK host files.
    for (const name of [
      'flat.vmdk',
      'embedded-flat.vmdk',
      'backed.qcow2',
      'backed-v2.qcow2',
      'datafile.qcow2',
    ])
      assert.ok(leaks(join(images.dir, name)), `${name} should read the host file when probed`);
  });
});

describe('the inspection rule', () => {
  test('refuses every image that names another file, or a format that is not let in', async () => {
    for (const [name, why] of Object.entries(images.evil))
      await assert.rejects(detectFile(join(images.dir, name)), refusal(why), name);
  });

  test('detects self-contained images from their headers', async () => {
    for (const [name, format] of Object.entries(images.good))
      assert.equal((await detectFile(join(images.dir, name))).format, format, name);
    assert.equal((await detectFile(join(images.dir, 'ok.iso'))).kind, 'ISO');
    assert.equal((await detectFile(join(images.dir, 'ok-stream.vmdk'))).kind, 'streamOptimized VMDK');
    assert.equal((await detectFile(join(images.dir, 'ok-fixed.vhd'))).kind, 'fixed VHD');
  });

  test('a file shorter than any header is raw, not a crash', async () => {
    const tiny = join(work, 'tiny.raw');
    writeFileSync(tiny, 'x');
    assert.equal((await detectFile(tiny)).format, 'raw');
  });

  test('openArgs opens a qcow2 without following its backing file', () => {
    const out = join(work, 'opened.raw');
    execFileSync('qemu-img', [
      'convert',
      ...openArgs(join(images.dir, 'backed.qcow2'), 'qcow2'),
      '-O',
      'raw',
      out,
    ]);
    assert.equal(readFileSync(out).includes(HOST_SECRET), false);
    assert.equal(statSync(out).size, 1048576);
  });

  test('inspect() (rule, then qemu-img info and check opened safely) refuses and accepts the same', async () => {
    for (const [name, why] of Object.entries(images.evil))
      await assert.rejects(inspect(qemuImgTool, join(images.dir, name)), refusal(why), name);
    for (const [name, format] of Object.entries(images.good)) {
      const info = await inspect(qemuImgTool, join(images.dir, name));
      assert.equal(info.format, format, name);
      assert.ok(info.virtualSize >= 1048576, `${name}: ${info.virtualSize}`);
    }
  });
});

describe('every entry path', () => {
  const fromFile = (path: string) => () =>
    Promise.resolve({ stream: createReadStream(path), total: statSync(path).size });

  test('http imports and CDI uploads (populateFromStream) refuse them and leave the volume as it was', async () => {
    const pool = join(work, 'pool');
    await mkdir(pool, { recursive: true });
    const volume = join(pool, 'pvc-1.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '16M']);
    const before = readFileSync(volume);
    for (const [name, why] of Object.entries(images.evil)) {
      await assert.rejects(
        populateFromStream(
          fromFile(join(images.dir, name)),
          { path: volume, format: 'qcow2', bytes: 16 << 20 },
          {
            images: qemuImgTool,
          },
        ),
        refusal(why),
        name,
      );
      assert.ok(readFileSync(volume).equals(before), `${name}: the volume is unchanged`);
      assert.deepEqual(
        readdirSync(pool).filter((f) => f !== 'pvc-1.qcow2'),
        [],
        `${name}: no partial file left`,
      );
    }
    for (const name of Object.keys(images.good)) {
      const result = await populateFromStream(
        fromFile(join(images.dir, name)),
        { path: volume, format: 'qcow2', bytes: 16 << 20 },
        { images: qemuImgTool },
      );
      assert.equal(result.sourceFormat, images.good[name], name);
      const data = rawBytes(volume, 'qcow2');
      assert.equal(data.length, 16 << 20, name);
      if (name !== 'ok.iso') assert.equal(data.subarray(0, 15).toString(), 'self-contained\n', name);
      assert.equal(data.includes(HOST_SECRET), false, name);
    }
  });

  test('containerDisk pulls and image uploads (intoImageStore) refuse them and keep the good ones', async () => {
    for (const [name, why] of Object.entries(images.evil)) {
      const dir = join(work, `store-${name}`);
      await mkdir(dir, { recursive: true });
      const received = join(dir, 'received');
      writeFileSync(received, readFileSync(join(images.dir, name)));
      await assert.rejects(intoImageStore(qemuImgTool, received, dir), refusal(why), name);
      assert.equal(existsSync(join(dir, 'disk.qcow2')) || existsSync(join(dir, 'disk.img')), false, name);
    }
    for (const [name, format] of Object.entries(images.good)) {
      const dir = join(work, `store-${name}`);
      await mkdir(dir, { recursive: true });
      const received = join(dir, 'received');
      execFileSync('sh', ['-c', `gzip -c "$0" > "$1"`, join(images.dir, name), received]);
      const disk = await intoImageStore(qemuImgTool, received, dir);
      assert.equal(disk.format, format === 'raw' ? 'raw' : 'qcow2', name);
      assert.equal(rawBytes(join(dir, disk.file), disk.format).includes(HOST_SECRET), false, name);
    }
  });
});
