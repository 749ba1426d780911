/**
 * The OS catalog's view of the local image store: which DataSource stands for which image, read
 * from one scan of the store (it runs every few seconds; it used to rescan once per catalog name).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LocalImage } from '../../../src/storage/images.js';
import { catalogImages } from '../../../src/storage/os-images.js';

const image = (name: string, dir: string, extra: Partial<LocalImage> = {}): LocalImage => ({
  name,
  dir,
  format: 'qcow2',
  names: [name.includes(':') ? name : `${name}:latest`],
  ...extra,
});

const store = (images: LocalImage[]): { list: () => LocalImage[]; scans: () => number } => {
  let scans = 0;
  return {
    list: () => {
      scans++;
      return images;
    },
    scans: () => scans,
  };
};

test('catalog images are found by their local names, imported ones by their own, pulled ones left out', () => {
  const s = store([
    image('debian:12', '/cache/debian-12'),
    image('hikube/tiny', '/cache/hikube-tiny'),
    image('team/app:1.0', '/data/images/app'),
    image('pulled:1', '/data/images/pulled', { source: 'registry.example/pulled:1' }),
    image('elsewhere:1', '/other/elsewhere'),
  ]);
  const found = catalogImages(s, '/data/images');
  assert.equal(found.get('debian-12')?.image.dir, '/cache/debian-12');
  assert.equal(found.get('debian-12')?.entry?.name, 'debian-12');
  assert.equal(found.get('hikube-tiny')?.image.dir, '/cache/hikube-tiny');
  assert.equal(found.get('team-app-1.0')?.image.dir, '/data/images/app');
  assert.equal(found.get('team-app-1.0')?.entry, undefined);
  assert.equal(
    [...found.values()].some((f) => f.image.name === 'pulled:1' || f.image.name === 'elsewhere:1'),
    false,
  );
});

test('the image store is scanned once per look, not once per catalog name', () => {
  const s = store([image('debian:12', '/cache/debian-12'), image('hikube/tiny', '/cache/hikube-tiny')]);
  catalogImages(s, '/data/images');
  assert.equal(s.scans(), 1);
});
