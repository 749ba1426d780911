/**
 * DataImportCron against a real OCI registry on loopback (Debian's docker-registry, as the other
 * registry import tests use): the cron imports the tag's digest on its schedule and points its
 * DataSource at the import; a new image pushed under the same tag is imported on a later firing,
 * the DataSource moves to it, and the older import is garbage-collected (importsToKeep: 1).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { makeImages, type Images } from '../unit/storage/image-server.js';
import { pushContainerDisk, startRegistry, type Registry } from '../unit/storage/registry-server.js';

let p: TestPlatform;
let fixtures: Images;
let registry: Registry;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-dic-images-')));
  registry = await startRegistry();
});
after(async () => {
  await p.cleanup();
  await registry.stop();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const get = (kind: string, name: string, path: string): Promise<string> =>
  kubectl(['get', kind, name, '-o', `jsonpath={${path}}`]).catch(() => '');

describe('DataImportCron', () => {
  test(
    'imports on schedule, moves the DataSource to a new digest, collects the old import',
    { timeout: 300_000 },
    async () => {
      await pushContainerDisk(
        registry.host,
        'containerdisks/golden',
        'latest',
        join(fixtures.dir, 'disk.qcow2'),
      );
      await kubectl(
        ['apply', '-f', '-'],
        `apiVersion: cdi.kubevirt.io/v1beta1
kind: DataImportCron
metadata: {name: golden-cron}
spec:
  schedule: "* * * * *"
  managedDataSource: golden
  importsToKeep: 1
  template:
    spec:
      source:
        registry: {url: "docker://${registry.host}/containerdisks/golden:latest"}
      storage: {resources: {requests: {storage: 16Mi}}}
`,
      );
      const first = await eventually(
        async () => {
          const pvc = await get('datasource', 'golden', '.spec.source.pvc.name');
          return pvc !== '' && (await get('dv', pvc, '.status.phase')) === 'Succeeded' ? pvc : undefined;
        },
        'the first import and the DataSource',
        90_000,
        1000,
      );
      assert.match(first, /^golden-cron-[0-9a-f]{12}$/);
      assert.match(
        await get('dv', first, '.spec.source.registry.url'),
        /@sha256:[0-9a-f]{64}$/,
        'pinned to the digest',
      );
      assert.equal(await get('dataimportcron', 'golden-cron', '.status.lastImportedPVC.name'), first);

      // A new image under the same tag: a later firing imports it and the DataSource follows.
      await pushContainerDisk(
        registry.host,
        'containerdisks/golden',
        'latest',
        join(fixtures.dir, 'disk.vmdk'),
      );
      const second = await eventually(
        async () => {
          const pvc = await get('datasource', 'golden', '.spec.source.pvc.name');
          return pvc !== first && pvc !== '' ? pvc : undefined;
        },
        'the DataSource to move to the new digest',
        180_000,
        1000,
      );
      assert.equal(await get('dv', second, '.status.phase'), 'Succeeded');
      await eventually(
        async () => (await kubectl(['get', 'dv', '-o', 'name'])).includes(first) === false,
        'the outdated import to be collected',
        30_000,
        500,
      );
      assert.equal(
        await get('dataimportcron', 'golden-cron', '.status.currentImports[*].DataVolumeName'),
        second,
      );
    },
  );
});
