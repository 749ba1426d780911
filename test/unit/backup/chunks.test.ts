/** Which chunks extents touch (table), and chunk, manifest and pack index verification. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CorruptChunkError,
  decodeChunk,
  encodeChunk,
  sha256hex,
  touchedChunks,
} from '../../../src/backup/chunks.js';
import {
  decodeManifest,
  encodeManifest,
  LegacyManifestError,
  ManifestError,
  type Manifest,
} from '../../../src/backup/manifest.js';
import { decodePackIndex, encodePackIndex } from '../../../src/backup/packs.js';

const K = 1024;
const cases: [string, Parameters<typeof touchedChunks>, number[]][] = [
  ['inside one chunk', [[{ offset: 10, length: 20, zero: false }], 4 * K, 16 * K, false], [0]],
  ['across a boundary', [[{ offset: 4 * K - 1, length: 2, zero: false }], 4 * K, 16 * K, false], [0, 1]],
  ['ending on a boundary', [[{ offset: 4 * K, length: 4 * K, zero: false }], 4 * K, 16 * K, false], [1]],
  ['zero extents skipped when full', [[{ offset: 0, length: 8 * K, zero: true }], 4 * K, 16 * K, false], []],
  [
    'zero extents read when incremental',
    [[{ offset: 0, length: 8 * K, zero: true }], 4 * K, 16 * K, true],
    [0, 1],
  ],
  [
    'short last chunk, clipped at the end',
    [[{ offset: 9 * K, length: 99 * K, zero: false }], 4 * K, 10 * K, false],
    [2],
  ],
  [
    'overlaps merged, sorted',
    [
      [
        { offset: 8 * K, length: 1, zero: false },
        { offset: 0, length: 9 * K, zero: false },
      ],
      4 * K,
      16 * K,
      false,
    ],
    [0, 1, 2],
  ],
  ['empty extent', [[{ offset: 0, length: 0, zero: false }], 4 * K, 16 * K, false], []],
];
for (const [name, args, want] of cases)
  test(`touchedChunks: ${name}`, () => assert.deepEqual(touchedChunks(...args), want));

test('a chunk decodes only to the bytes its name says', () => {
  const data = Buffer.from('hello chunk');
  const stored = encodeChunk(data);
  assert.ok(decodeChunk(stored, sha256hex(data), data.length, 'c').equals(data));
  assert.throws(
    () => decodeChunk(stored, sha256hex(Buffer.from('other')), data.length, 'c1'),
    (e: Error) => e instanceof CorruptChunkError && /c1.*sha256 mismatch/.test(e.message),
  );
  assert.throws(
    () => decodeChunk(stored, sha256hex(data), 99, 'c2'),
    /c2 is corrupt: 11 bytes where 99 were stored/,
  );
  assert.throws(
    () => decodeChunk(Buffer.from('not zstd'), sha256hex(data), data.length, 'c3'),
    /c3 is corrupt: cannot decompress/,
  );
});

test('a manifest round-trips and any edit or truncation is refused', () => {
  const m: Manifest = {
    version: 2,
    key: 'ns/app/b',
    created: '2026-12-07T00:00:00.000Z',
    chunkSize: 4096,
    packs: ['b'.repeat(32)],
    disks: [{ name: 'root', virtualSize: 8192, full: true, chunks: [[1, 'a'.repeat(64), 0, 0, 100]] }],
    spec: { n: 1 },
  };
  const { data, checksum } = encodeManifest(m);
  const back = decodeManifest(data, 'u');
  assert.equal(back.checksum, checksum);
  assert.deepEqual(back.manifest, m);
  assert.throws(
    () => decodeManifest(data.subarray(0, data.length - 5), 'u'),
    (e: Error) => e instanceof ManifestError && /not JSON/.test(e.message),
  );
  assert.throws(
    () => decodeManifest(Buffer.from(data.toString().replace('"n":1', '"n":2')), 'u'),
    /checksum mismatch/,
  );
  const bad = encodeManifest({
    ...m,
    disks: [{ name: 'root', virtualSize: 8192, full: true, chunks: [[2, 'a'.repeat(64), 0, 0, 100]] }],
  });
  assert.throws(() => decodeManifest(bad.data, 'u'), /index 2 out of order or range/);
  const noPack = encodeManifest({
    ...m,
    disks: [{ name: 'root', virtualSize: 8192, full: true, chunks: [[1, 'a'.repeat(64), 1, 0, 100]] }],
  });
  assert.throws(() => decodeManifest(noPack.data, 'u'), /bad entry/);
});

test('a manifest of the format before packs is refused, saying what to do', () => {
  // What the previous code wrote: version 1, chunks as [index, sha256], no pack table.
  const text = JSON.stringify({
    version: 1,
    key: 'ns/app/b',
    created: '2026-12-06T00:00:00.000Z',
    chunkSize: 4096,
    disks: [{ name: 'root', virtualSize: 8192, full: true, chunks: [[1, 'a'.repeat(64)]] }],
    spec: {},
  });
  const data = Buffer.from(`${text.slice(0, -1)},"checksum":"sha256:${sha256hex(Buffer.from(text))}"}`);
  assert.throws(
    () => decodeManifest(data, 's3://b/ns/app/backups/b.json'),
    (e: Error) =>
      e instanceof LegacyManifestError &&
      e.message.includes('s3://b/ns/app/backups/b.json') &&
      /format version 1 \(one object per chunk, written before packs\)/.test(e.message) &&
      /delete it and take a new full backup/.test(e.message),
  );
});

test('a pack index reads back only for its own pack and only unedited', () => {
  const id = 'c'.repeat(32);
  const entries: [string, number, number][] = [
    ['a'.repeat(64), 0, 10],
    ['b'.repeat(64), 10, 20],
  ];
  const data = encodePackIndex(id, entries);
  assert.deepEqual(decodePackIndex(data, id), entries);
  assert.equal(decodePackIndex(data, 'd'.repeat(32)), undefined);
  assert.equal(decodePackIndex(Buffer.from(data.toString().replace('"b', '"a')), id), undefined);
  assert.equal(decodePackIndex(data.subarray(0, 20), id), undefined);
});
