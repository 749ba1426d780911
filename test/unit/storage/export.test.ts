/**
 * The pure parts of VirtualMachineExport: its validation (one cause per bad field), the download
 * paths (only an export's volume names and KubeVirt's file names, never a path trick), the token
 * comparison, and the tar framing (read back by the real tar).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { validateExport, ttlOf, type VirtualMachineExport } from '../../../src/api/export/export.js';
import { exportLink, parseExportPath } from '../../../src/storage/export/paths.js';
import { sameToken } from '../../../src/storage/export/server.js';
import { tarEnd, tarHeader, tarPadding } from '../../../src/storage/export/tar.js';

const exp = (spec: Partial<VirtualMachineExport['spec']>): VirtualMachineExport => ({
  apiVersion: 'export.kubevirt.io/v1',
  kind: 'VirtualMachineExport',
  metadata: { name: 'e', namespace: 'default' },
  spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'vm' }, ...spec },
});

describe('VirtualMachineExport validation', () => {
  const cases: [string, Partial<VirtualMachineExport['spec']>, string[]][] = [
    ['a VM', {}, []],
    [
      'a snapshot',
      { source: { apiGroup: 'snapshot.kubevirt.io', kind: 'VirtualMachineSnapshot', name: 's' } },
      [],
    ],
    [
      'a claim',
      { source: { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'c' }, ttlDuration: '90m' },
      [],
    ],
    ['a claim with no apiGroup', { source: { kind: 'PersistentVolumeClaim', name: 'c' } }, []],
    ['an unknown kind', { source: { kind: 'Pod', name: 'p' } }, ['spec.source.kind']],
    [
      'a wrong group',
      { source: { apiGroup: 'apps', kind: 'VirtualMachine', name: 'v' } },
      ['spec.source.apiGroup'],
    ],
    [
      'no name',
      { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: '' } },
      ['spec.source.name'],
    ],
    [
      'everything wrong at once',
      { source: { apiGroup: 'x', kind: 'Pod', name: 'A/B' }, tokenSecretRef: '../etc', ttlDuration: '-5m' },
      ['spec.source.kind', 'spec.source.name', 'spec.tokenSecretRef', 'spec.ttlDuration'],
    ],
    ['a zero ttl', { ttlDuration: '0' }, ['spec.ttlDuration']],
  ];
  for (const [what, spec, paths] of cases)
    test(what, () => {
      assert.deepEqual(
        validateExport(exp(spec), undefined).map((e) => e.path),
        paths,
      );
    });

  test('the spec is immutable', () => {
    assert.deepEqual(
      validateExport(exp({ ttlDuration: '1h' }), exp({})).map((e) => e.path),
      ['spec'],
    );
  });

  test('ttl: the given duration, else two hours', () => {
    assert.equal(ttlOf(exp({ ttlDuration: '90s' })), 90_000);
    assert.equal(ttlOf(exp({})), 7_200_000);
  });
});

describe('download paths', () => {
  test('every format of every volume in the link parses back to the same request', () => {
    const link = exportLink('https://h:1', 'CA', 'ns', 'ex', ['root', 'data'], true);
    for (const v of link.volumes ?? [])
      for (const f of v.formats ?? []) {
        const r = parseExportPath(new URL(f.url).pathname);
        assert.deepEqual(r, {
          namespace: 'ns',
          name: 'ex',
          what: 'volume',
          volume: v.name,
          format: f.format,
          inDir: false,
        });
      }
    assert.deepEqual(
      (link.manifests ?? []).map((m) => parseExportPath(new URL(m.url).pathname)),
      [
        { namespace: 'ns', name: 'ex', what: 'manifest', manifest: 'all' },
        { namespace: 'ns', name: 'ex', what: 'manifest', manifest: 'auth-header-secret' },
      ],
    );
    assert.deepEqual(parseExportPath('/exports/ns/ex/volumes/data/dir/disk.img'), {
      namespace: 'ns',
      name: 'ex',
      what: 'volume',
      volume: 'data',
      format: 'raw',
      inDir: true,
    });
  });

  for (const bad of [
    '/exports/ns/ex/volumes/../disk.img',
    '/exports/ns/ex/volumes/./disk.img',
    '/exports/ns/ex/volumes/a%2Fb/disk.img',
    '/exports/ns/ex/volumes/data/../../etc/passwd',
    '/exports/ns/ex/volumes/data/disk.vmdk',
    '/exports/NS/ex/volumes/data/disk.img',
    '/exports/ns/ex/volumes/data',
    '/exports/ns/ex/manifests/other',
  ])
    test(`refused: ${bad}`, () => assert.equal(parseExportPath(bad), undefined));
});

describe('token comparison', () => {
  test('equal only when the same, whatever the lengths; an empty expected token never matches', () => {
    assert.equal(sameToken('abc', 'abc'), true);
    assert.equal(sameToken('abd', 'abc'), false);
    assert.equal(sameToken('abcd', 'abc'), false);
    assert.equal(sameToken('', ''), false);
  });
});

describe('tar framing', () => {
  test('the real tar reads one member disk.img with its bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hikube-tar-'));
    try {
      const data = Buffer.from('hello disk\n'.repeat(100));
      const file = join(dir, 'x.tar');
      writeFileSync(
        file,
        Buffer.concat([
          tarHeader('disk.img', data.length, new Date(0)),
          data,
          tarPadding(data.length),
          tarEnd(),
        ]),
      );
      assert.match(execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }), /disk\.img$/m);
      assert.ok(execFileSync('tar', ['-xOf', file, 'disk.img']).equals(data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a size past 8 GiB is written in base-256', () => {
    const h = tarHeader('disk.img', 10 * 1024 ** 3, new Date(0));
    assert.equal(h[124], 0x80);
    assert.equal(h.readBigUInt64BE(128), BigInt(10 * 1024 ** 3));
  });

  test('a name too long for the header is refused; padding rounds to a block', () => {
    assert.throws(() => tarHeader('x'.repeat(101), 1, new Date(0)));
    assert.equal(tarPadding(512).length, 0);
    assert.equal(tarPadding(1).length, 511);
  });
});
