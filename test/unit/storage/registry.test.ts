/**
 * The registry importer against a real OCI registry on loopback (Debian's docker-registry, started
 * here): a containerDisk pushed by tag is imported by tag and by digest, also when its disk sits
 * below another layer; a wrong tag and an image without a disk fail with their reasons.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { OutboundPolicy } from '../../../src/network/outbound.js';
import { ImportError } from '../../../src/storage/import/errors.js';
import { populateFromRegistry } from '../../../src/storage/import/populate.js';
import { parseReference } from '../../../src/storage/import/registry.js';
import { qemuImgTool } from '../../../src/storage/qemu-img.js';
import { GOLDEN, makeImages, type Images } from './image-server.js';
import { pushContainerDisk, startRegistry, type Registry } from './registry-server.js';

/** The test's registries listen on loopback. */
const LOOPBACK: OutboundPolicy = { allowPrivateTargets: true };

describe('image references', () => {
  const cases: [string, string][] = [
    ['docker://quay.io/containerdisks/fedora:40', 'quay.io containerdisks/fedora 40'],
    ['docker://127.0.0.1:5000/disks/tiny', '127.0.0.1:5000 disks/tiny latest'],
    ['docker://localhost/tiny@sha256:abc', 'localhost tiny sha256:abc'],
    ['docker://ubuntu:22.04', 'registry-1.docker.io library/ubuntu 22.04'],
    ['docker://docker.io/library/debian:12', 'registry-1.docker.io library/debian 12'],
    [
      'docker://kubevirt/fedora-cloud-container-disk-demo',
      'registry-1.docker.io kubevirt/fedora-cloud-container-disk-demo latest',
    ],
  ];
  for (const [url, want] of cases)
    test(url, () => {
      const r = parseReference(url);
      assert.equal(`${r.registry} ${r.repository} ${r.reference}`, want);
    });
});

describe('importing a containerDisk from a registry', () => {
  let registry: Registry;
  let fixtures: Images;
  let pool: string;
  let digest: string;
  before(async () => {
    registry = await startRegistry();
    fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-images-')));
    pool = await mkdtemp(join(tmpdir(), 'hikube-pool-'));
    digest = await pushContainerDisk(registry.host, 'disks/tiny', 'v1', join(fixtures.dir, 'disk.qcow2'));
    await pushContainerDisk(registry.host, 'disks/layered', 'v1', join(fixtures.dir, 'disk.qcow2'), true);
    await pushContainerDisk(registry.host, 'disks/empty', 'v1', undefined);
  });
  after(async () => {
    await registry.stop();
    await rm(fixtures.dir, { recursive: true, force: true });
    await rm(pool, { recursive: true, force: true });
  });

  const importInto = async (url: string, name: string): Promise<string> => {
    const path = join(pool, `${name}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '32M']);
    const progress: number[] = [];
    await populateFromRegistry(
      { url },
      { path, format: 'qcow2', bytes: 32 * 1048576 },
      {
        images: qemuImgTool,
        targets: LOOPBACK,
        onProgress: (p) => progress.push(p),
      },
    );
    assert.equal(progress[progress.length - 1], 100);
    const raw = join(pool, `${name}.raw`);
    execFileSync('qemu-img', ['convert', '-O', 'raw', path, raw]);
    return readFileSync(raw).subarray(0, GOLDEN.length).toString();
  };

  test('by tag, by digest, and from below another layer', async () => {
    assert.equal(await importInto(`docker://${registry.host}/disks/tiny:v1`, 'by-tag'), GOLDEN);
    assert.equal(await importInto(`docker://${registry.host}/disks/tiny@${digest}`, 'by-digest'), GOLDEN);
    assert.equal(await importInto(`docker://${registry.host}/disks/layered:v1`, 'layered'), GOLDEN);
    assert.deepEqual(
      readdirSync(pool).filter((f) => f.endsWith('.part')),
      [],
    );
  });

  test('through the Bearer token flow, with the credentials of a secret', async () => {
    // A gate in front of the registry, as Docker Hub or Quay: 401 with a Bearer challenge, and a
    // token service that wants basic auth.
    const gate = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://gate');
      if (url.pathname === '/token') {
        const ok = req.headers.authorization === `Basic ${Buffer.from('puller:pw').toString('base64')}`;
        const scope = url.searchParams.get('scope');
        res.writeHead(ok && scope === 'repository:disks/tiny:pull' ? 200 : 401, {
          'Content-Type': 'application/json',
        });
        res.end(ok ? JSON.stringify({ token: 'T0KEN' }) : '{}');
        return;
      }
      if (req.headers.authorization !== 'Bearer T0KEN') {
        const realm = `http://${req.headers.host ?? ''}/token`;
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="${realm}",service="gate",scope="repository:disks/tiny:pull"`,
        });
        res.end();
        return;
      }
      const upstream = httpRequest(
        `http://${registry.host}${req.url ?? '/'}`,
        { headers: { accept: req.headers.accept ?? '' } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.end();
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    const gateHost = `127.0.0.1:${(gate.address() as AddressInfo).port}`;
    try {
      const path = join(pool, 'gated.qcow2');
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '32M']);
      const target = { path, format: 'qcow2' as const, bytes: 32 * 1048576 };
      await populateFromRegistry(
        { url: `docker://${gateHost}/disks/tiny:v1`, auth: { user: 'puller', password: 'pw' } },
        target,
        { images: qemuImgTool, targets: LOOPBACK },
      );
      await assert.rejects(
        populateFromRegistry({ url: `docker://${gateHost}/disks/tiny:v1` }, target, {
          images: qemuImgTool,
          targets: LOOPBACK,
        }),
        /the token service refused \(HTTP 401\)/,
      );
    } finally {
      gate.closeAllConnections();
      await new Promise((r) => gate.close(r));
    }
  });

  test('a wrong tag is NotFound; an image without a disk is refused', async () => {
    await assert.rejects(
      importInto(`docker://${registry.host}/disks/tiny:v2`, 'wrong-tag'),
      (err: unknown) => {
        assert.ok(err instanceof ImportError);
        assert.equal(err.reason, 'NotFound');
        assert.equal(err.permanent, true);
        assert.match(
          err.message,
          /HTTP 404 from 127\.0\.0\.1:\d+ for 127\.0\.0\.1:\d+\/disks\/tiny:v2: manifest unknown/,
        );
        return true;
      },
    );
    await assert.rejects(
      importInto(`docker://${registry.host}/disks/empty:v1`, 'empty'),
      /is not a containerDisk: no layer holds a disk image under \/disk\//,
    );
    assert.deepEqual(
      readdirSync(pool).filter((f) => f.endsWith('.part')),
      [],
    );
  });
});
