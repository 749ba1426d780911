/**
 * Issue 12, items 1 and 2, through the API of a real platform: images that name a host file (a
 * VMDK flat extent, a sparse VMDK pointing at a descriptor, a qcow2 backing file, a qcow2 data
 * file) are refused on every way in — an http DataVolume import, a registry DataVolume, a CDI
 * upload, and `PUT …/images/NAME/upload` (`hikube image import`) — with the reason shown, and no
 * volume or image holds the host file; a streamOptimized VMDK still imports on the same paths.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { HOST_SECRET, makeEvilImages, type EvilImages } from '../unit/storage/evil-images.js';
import { serveImages, type ImageServer } from '../unit/storage/image-server.js';
import { pushContainerDisk, startRegistry, type Registry } from '../unit/storage/registry-server.js';

let p: TestPlatform;
let images: EvilImages;
let server: ImageServer;
let registry: Registry;

before(async () => {
  p = await startTestPlatform();
  images = makeEvilImages(await mkdtemp(join(tmpdir(), 'hikube-evil-')));
  server = await serveImages(images.dir);
  registry = await startRegistry();
  await pushContainerDisk(registry.host, 'evil/embedded', '1', join(images.dir, 'embedded-flat.vmdk'));
});
after(async () => {
  await p.cleanup();
  await server.close();
  await registry.stop();
  await rm(images.dir, { recursive: true, force: true });
});

interface Dv {
  status?: { phase?: string; conditions?: { type: string; reason?: string; message?: string }[] };
}

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const finished = (name: string): Promise<Dv> =>
  eventually(
    async () => {
      const dv = JSON.parse(await kubectl(['get', 'dv', name, '-o', 'json'])) as Dv;
      return dv.status?.phase === 'Succeeded' || dv.status?.phase === 'Failed' ? dv : undefined;
    },
    `DataVolume ${name} to finish`,
    60_000,
    200,
  );

const dv = (name: string, source: string): string =>
  `---\napiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${name}}\nspec:\n  source: ${source}\n  storage: {resources: {requests: {storage: 16Mi}}}\n`;

/** Every file under the data dir, as bytes: none may hold the host secret. */
function assertNoSecretUnder(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    assert.equal(readFileSync(path).includes(HOST_SECRET), false, `${path} holds the host file`);
  }
}

describe('images naming host files', () => {
  test('http and registry DataVolumes of them end Failed, saying why', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      dv('evil-flat', `{http: {url: "${server.url}/flat.vmdk"}}`) +
        dv('evil-backed', `{http: {url: "${server.url}/backed.qcow2"}}`) +
        dv('evil-registry', `{registry: {url: "docker://${registry.host}/evil/embedded:1"}}`) +
        dv('good-stream', `{http: {url: "${server.url}/ok-stream.vmdk"}}`),
    );
    const cases: [string, RegExp][] = [
      ['evil-flat', /VMDK descriptor, whose extents are other files/],
      ['evil-backed', /refers to another file \(a qcow2 backing file\)/],
      ['evil-registry', /refers to another file \(a VMDK descriptor naming its extents\)/],
    ];
    for (const [name, why] of cases) {
      const d = await finished(name);
      assert.equal(d.status?.phase, 'Failed', name);
      const running = d.status?.conditions?.find((c) => c.type === 'Running');
      assert.equal(running?.reason, 'UnsupportedFormat', name);
      assert.match(running?.message ?? '', why, name);
      assert.match(await kubectl(['describe', 'dv', name]), why);
    }
    assert.equal((await finished('good-stream')).status?.phase, 'Succeeded');
    assertNoSecretUnder(p.dataDir);
  });

  test('a CDI upload of a qcow2 with a data file is refused with a 4xx', async () => {
    const r = await p.hikube([
      'image',
      'upload',
      'dv',
      'evil-upload',
      '--image-path',
      join(images.dir, 'datafile.qcow2'),
      '--size',
      '16Mi',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /upload into evil-upload failed: .*refers to another file \(a qcow2 external data file\)/,
    );
    assertNoSecretUnder(p.dataDir);
  });

  test('PUT images/NAME/upload answers 400 with a Status; hikube image import says why; good images import', async () => {
    const path = '/apis/images.hikube.io/v1alpha1/images/evil-backed/upload';
    const res = await raw(p, 'PUT', path, readFileSync(join(images.dir, 'backed.qcow2')), {
      'Content-Type': 'application/octet-stream',
    });
    assert.equal(res.code, 400, res.body);
    assert.equal(res.json['kind'], 'Status');
    assert.equal(res.json['reason'], 'BadRequest');
    assert.match(String(res.json['message']), /refers to another file \(a qcow2 backing file\)/);
    const cli = await p.hikube(['image', 'import', 'evil-flat', join(images.dir, 'flat.vmdk')]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /VMDK descriptor, whose extents are other files/);
    const store = join(p.dataDir, 'images');
    assert.equal(existsSync(join(store, 'evil-backed-latest')), false);
    assert.equal(existsSync(join(store, 'evil-flat-latest')), false);

    const ok = await p.hikube(['image', 'import', 'good-stream', join(images.dir, 'ok-stream.vmdk')]);
    assert.equal(ok.code, 0, ok.stderr);
    const manifest = JSON.parse(readFileSync(join(store, 'good-stream-latest', 'image.json'), 'utf8')) as {
      disk: string;
      format: string;
    };
    assert.deepEqual([manifest.disk, manifest.format], ['disk.qcow2', 'qcow2']);
    const disk = join(store, 'good-stream-latest', 'disk.qcow2');
    const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', disk]).toString()) as {
      format: string;
      'backing-filename'?: string;
    };
    assert.deepEqual([info.format, info['backing-filename']], ['qcow2', undefined]);
    assertNoSecretUnder(p.dataDir);
  });
});
