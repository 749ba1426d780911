/**
 * Disks end to end, without guests: the seeded default StorageClass, claims, DataVolumes imported
 * over http from a loopback server and pulled from a real OCI registry on loopback (Debian's
 * docker-registry), kubectl's view of them (get sc, pvc, pv, dv), the `hikube
 * disk` and `hikube image upload` commands with their progress output, resize and delete, and an
 * import into a pool too small for it (a 16 MiB tmpfs) that fails saying so and leaves no partial
 * file. Guests using these disks: storage-vm.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import {
  GOLDEN,
  makeImages,
  serveImages,
  type ImageServer,
  type Images,
} from '../unit/storage/image-server.js';
import { pushContainerDisk, startRegistry, type Registry } from '../unit/storage/registry-server.js';

let p: TestPlatform;
let fixtures: Images;
let server: ImageServer;
let smallPool: string;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-images-')));
  // Incompressible, bigger than the small pool below.
  writeFileSync(join(fixtures.dir, 'big.raw'), randomBytes(32 * 1048576));
  server = await serveImages(fixtures.dir);
  smallPool = await mkdtemp(join(tmpdir(), 'hikube-small-pool-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', smallPool]);
});
after(async () => {
  await p.cleanup();
  await server.close();
  try {
    execFileSync('umount', [smallPool]);
  } catch {
    // Not mounted: before() failed early.
  }
  await rm(smallPool, { recursive: true, force: true });
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = async (args: string[]): Promise<{ stdout: string; stderr: string }> => {
  const r = await p.hikube(args);
  assert.equal(r.code, 0, `hikube ${args.join(' ')} failed: ${r.stderr}`);
  return r;
};
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

interface Dv {
  status?: {
    phase?: string;
    progress?: string;
    restartCount?: number;
    conditions?: { type: string; reason?: string; message?: string }[];
  };
}
interface Pvc {
  metadata: { finalizers?: string[] };
  spec: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface Pv {
  spec: { hostPath?: { path: string }; volumeMode?: string; accessModes?: string[] };
}

const finished = (name: string, timeoutMs = 30_000): Promise<Dv> =>
  eventually(
    async () => {
      const dv = await json<Dv>(['get', 'dv', name]);
      return dv.status?.phase === 'Succeeded' || dv.status?.phase === 'Failed' ? dv : undefined;
    },
    `DataVolume ${name} to finish`,
    timeoutMs,
    200,
  );

const diskPath = async (claim: string): Promise<string> => {
  const pvc = await json<Pvc>(['get', 'pvc', claim]);
  const pv = await json<Pv>(['get', 'pv', pvc.spec.volumeName ?? '']);
  return pv.spec.hostPath?.path ?? '';
};

const firstBytes = (path: string, format: string): string => {
  const out = `${path}.head`;
  execFileSync('qemu-img', ['dd', '-f', format, '-O', 'raw', `if=${path}`, `of=${out}`, 'bs=512', 'count=1']);
  const text = execFileSync('head', ['-c', String(GOLDEN.length), out]).toString();
  execFileSync('rm', ['-f', out]);
  return text;
};

const virtualSize = (path: string): number =>
  (
    JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path]).toString()) as {
      'virtual-size': number;
    }
  )['virtual-size'];

describe('storage classes and claims', () => {
  test('a default StorageClass allowing expansion is served to kubectl', async () => {
    const table = await kubectl(['get', 'storageclass']);
    assert.match(
      table,
      /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/,
    );
    // kube marks the default class in the NAME column.
    assert.match(table, /\nlocal \(default\)\s+hikube\.io\/local-pool\s+Delete\s+Immediate\s+true\s+/);
    const sc = await json<{ metadata: { annotations: Record<string, string> } }>(['get', 'sc', 'local']);
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
    // Hikube's manifests name their class "replicated": the same pool here, not the default.
    assert.match(table, /\nreplicated\s+hikube\.io\/local-pool\s+Delete\s+Immediate\s+true\s+/);
    const replicated = await json<{ metadata: { annotations?: Record<string, string> } }>([
      'get',
      'sc',
      'replicated',
    ]);
    assert.equal(replicated.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], undefined);
  });

  test('a claim of class replicated (Hikube manifests) is bound from the local pool', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: hikube-disk}\nspec:\n  storageClassName: replicated\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 16Mi}}\n',
    );
    await eventually(async () => {
      const c = await json<Pvc>(['get', 'pvc', 'hikube-disk']);
      return c.status?.phase === 'Bound' || undefined;
    }, 'hikube-disk bound');
    await kubectl(['delete', 'pvc', 'hikube-disk']);
  });

  test('a Block claim is bound to a raw volume with its access modes; kubectl shows the PV', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: raw-disk}\nspec:\n  accessModes: [ReadOnlyMany]\n  volumeMode: Block\n  resources: {requests: {storage: 20Mi}}\n',
    );
    const pvc = await eventually(async () => {
      const c = await json<Pvc>(['get', 'pvc', 'raw-disk']);
      return c.status?.phase === 'Bound' ? c : undefined;
    }, 'raw-disk bound');
    assert.equal(pvc.spec.storageClassName, 'local');
    assert.equal(pvc.status?.capacity?.storage, '20Mi');
    assert.deepEqual(pvc.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    const pv = await json<Pv>(['get', 'pv', pvc.spec.volumeName ?? '']);
    assert.equal(pv.spec.volumeMode, 'Block');
    assert.deepEqual(pv.spec.accessModes, ['ReadOnlyMany']);
    assert.match(pv.spec.hostPath?.path ?? '', /\/volumes\/pvc-[0-9a-f-]+\.img$/);
    assert.match(
      await kubectl(['get', 'pv']),
      /20Mi\s+ROX\s+Delete\s+Bound\s+default\/raw-disk\s+local\s+<unset>/,
    );
    await kubectl(['delete', 'pvc', 'raw-disk']);
    await eventually(() => !existsSync(pv.spec.hostPath?.path ?? ''), 'the raw volume to go with its claim');
  });
});

describe('DataVolumes over kubectl', () => {
  test('imports with checksum, a wrong checksum, a 404 and a dropped connection, as kubectl shows them', async () => {
    const dv = (name: string, url: string, extra = ''): string =>
      `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${name}}\nspec:\n  source:\n    http:\n      url: ${url}\n${extra}  storage:\n    resources: {requests: {storage: 32Mi}}\n---\n`;
    await kubectl(
      ['apply', '-f', '-'],
      dv(
        'gz',
        `${server.url}/disk.qcow2.gz`,
        `      checksum: sha256:${fixtures.sha256('disk.qcow2.gz')}\n`,
      ) +
        dv('wrong-sum', `${server.url}/disk.raw.xz`, `      checksum: sha256:${'1'.repeat(64)}\n`) +
        dv('absent', `${server.url}/absent.qcow2`) +
        dv('flaky', `${server.url}/drop-once/disk.qcow2`),
    );
    const results = Object.fromEntries(
      await Promise.all(
        ['gz', 'wrong-sum', 'absent', 'flaky'].map(async (n) => [n, await finished(n)] as const),
      ),
    );
    const running = (d: Dv | undefined) => d?.status?.conditions?.find((c) => c.type === 'Running');
    assert.equal(results['gz']?.status?.phase, 'Succeeded');
    assert.equal(results['flaky']?.status?.phase, 'Succeeded');
    assert.equal(results['flaky']?.status?.restartCount, 1);
    assert.equal(results['wrong-sum']?.status?.phase, 'Failed');
    assert.equal(running(results['wrong-sum'])?.reason, 'ChecksumError');
    assert.equal(results['absent']?.status?.phase, 'Failed');
    assert.match(running(results['absent'])?.message ?? '', /HTTP 404 Not Found/);
    const table = await kubectl(['get', 'dv']);
    assert.match(table, /^NAME\s+PHASE\s+PROGRESS\s+RESTARTS\s+AGE/);
    assert.match(table, /\nflaky\s+Succeeded\s+100\.0%\s+1\s+/);
    assert.match(table, /\nabsent\s+Failed\s+N\/A\s+0\s+/);
    assert.match(await kubectl(['describe', 'dv', 'wrong-sum']), /checksum mismatch: expected sha256:1{64}/);
    assert.equal(firstBytes(await diskPath('gz'), 'qcow2'), GOLDEN);
    const owner = await json<{ metadata: { ownerReferences: { kind: string; name: string }[] } }>([
      'get',
      'pvc',
      'gz',
    ]);
    assert.deepEqual(
      owner.metadata.ownerReferences.map((r) => `${r.kind}/${r.name}`),
      ['DataVolume/gz'],
    );
    await kubectl(['delete', 'dv', 'gz', 'wrong-sum', 'absent', 'flaky']);
    await eventually(
      async () => (await p.kubectl(['get', 'pvc', 'gz'])).code !== 0,
      'the claims to go with their DataVolumes',
    );
  });
});

describe('DataVolumes from an OCI registry', () => {
  let registry: Registry;
  before(async () => {
    registry = await startRegistry();
    await pushContainerDisk(registry.host, 'containerdisks/golden', '1.0', join(fixtures.dir, 'disk.qcow2'));
  });
  after(async () => {
    await registry.stop();
  });

  test('a containerDisk pulled by tag fills the volume; a wrong tag fails with the reason', async () => {
    const dv = (name: string, tag: string): string =>
      `---\napiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${name}}\nspec:\n  source: {registry: {url: "docker://${registry.host}/containerdisks/golden:${tag}"}}\n  storage: {resources: {requests: {storage: 16Mi}}}\n`;
    await kubectl(['apply', '-f', '-'], dv('from-registry', '1.0') + dv('wrong-tag', '9.9'));
    const ok = await finished('from-registry');
    assert.equal(ok.status?.phase, 'Succeeded');
    assert.equal(firstBytes(await diskPath('from-registry'), 'qcow2'), GOLDEN);
    const bad = await finished('wrong-tag');
    assert.equal(bad.status?.phase, 'Failed');
    const running = bad.status?.conditions?.find((c) => c.type === 'Running');
    assert.equal(running?.reason, 'NotFound');
    assert.match(running?.message ?? '', /containerdisks\/golden:9\.9: manifest unknown/);
    await kubectl(['delete', 'dv', 'from-registry', 'wrong-tag']);
  });
});

describe('hikube disk and image upload', () => {
  test('disk create --from-url --wait shows progress; list shows the disk; resize grows it; delete removes it', async () => {
    const created = await hikube([
      'disk',
      'create',
      'web-root',
      '--from-url',
      `${server.url}/slow/disk.raw`,
      '--size',
      '64Mi',
      '--wait',
    ]);
    assert.match(created.stdout, /datavolume\.cdi\.kubevirt\.io\/web-root created\ndisk web-root is ready/);
    assert.match(created.stderr, /web-root: ImportInProgress \d+\.\d\d%/);
    await hikube(['disk', 'create', 'scratch', '--size', '16Mi', '--wait']);
    const list = (await hikube(['disk', 'list'])).stdout;
    assert.match(list, /^NAME\s+SIZE\s+STATUS\s+PROGRESS\s+SOURCE\s+USED BY/);
    assert.match(list, new RegExp(`\\nscratch\\s+16Mi\\s+Bound\\s+100\\.0%\\s+blank\\s+<none>`));
    assert.match(
      list,
      new RegExp(
        `\\nweb-root\\s+64Mi\\s+Bound\\s+100\\.0%\\s+${server.url.replace(/\./g, '\\.')}/slow/disk\\.raw\\s+<none>`,
      ),
    );
    const names = (await hikube(['disk', 'list', '-o', 'name'])).stdout;
    assert.match(names, /persistentvolumeclaim\/scratch\npersistentvolumeclaim\/web-root/);
    const path = await diskPath('scratch');
    const resized = await hikube(['disk', 'resize', 'scratch', '48Mi', '--wait']);
    assert.match(resized.stdout, /disk scratch is now 48Mi/);
    assert.equal(virtualSize(path), 48 * 1048576);
    const shrink = await p.hikube(['disk', 'resize', 'scratch', '8Mi']);
    assert.notEqual(shrink.code, 0);
    assert.match(
      shrink.stderr,
      /spec\.resources\.requests\.storage: Forbidden: field can not be less than previous value/,
    );
    assert.match((await hikube(['disk', 'delete', 'scratch'])).stdout, /disk scratch deleted/);
    await eventually(() => !existsSync(path), 'the deleted disk file to go');
  });

  test('image upload streams a file with progress into a new DataVolume', async () => {
    const r = await hikube([
      'image',
      'upload',
      'dv',
      'uploaded',
      '--image-path',
      join(fixtures.dir, 'disk.qcow2'),
      '--size',
      '24Mi',
    ]);
    assert.match(r.stderr, /DataVolume default\/uploaded created \(24Mi\)/);
    assert.match(r.stderr, /uploading uploaded: 100\.0%/);
    assert.match(r.stdout, /uploaded .*disk\.qcow2 into DataVolume uploaded: qcow2 image, 8Mi virtual/);
    const dv = await json<Dv>(['get', 'dv', 'uploaded']);
    assert.equal(dv.status?.phase, 'Succeeded');
    const path = await diskPath('uploaded');
    assert.equal(firstBytes(path, 'qcow2'), GOLDEN);
    assert.equal(virtualSize(path), 24 * 1048576);
    const bad = await p.hikube([
      'image',
      'upload',
      'dv',
      'zipped',
      '--image-path',
      join(fixtures.dir, 'archive.zip'),
      '--size',
      '8Mi',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /upload into zipped failed: the file is a zip archive, not a disk image/);
  });
});

describe('a pool without space', () => {
  test('an import bigger than the pool fails with a clear reason and leaves no partial file', async () => {
    await mkdir(smallPool, { recursive: true });
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: tiny-pool}\nprovisioner: hikube.io/local-pool\nparameters: {path: ${smallPool}}\n` +
        ['big-known', 'big-streamed']
          .map(
            (name) =>
              `---\napiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${name}}\nspec:\n  source: {http: {url: ${server.url}/${name === 'big-known' ? '' : 'chunked/'}big.raw}}\n  storage:\n    storageClassName: tiny-pool\n    resources: {requests: {storage: 64Mi}}\n`,
          )
          .join(''),
    );
    const known = await finished('big-known');
    const streamed = await finished('big-streamed');
    const running = (d: Dv) => d.status?.conditions?.find((c) => c.type === 'Running');
    assert.equal(known.status?.phase, 'Failed');
    assert.equal(running(known)?.reason, 'NoSpace');
    assert.match(
      running(known)?.message ?? '',
      /the image \(32Mi\) does not fit in the storage pool .*hikube-small-pool-\w+ \(\d+(\.\d+)?\w* free\)|the image \(32Mi\) does not fit in the storage pool .* free\)/,
    );
    assert.equal(streamed.status?.phase, 'Failed');
    assert.equal(running(streamed)?.reason, 'NoSpace');
    assert.match(running(streamed)?.message ?? '', /no space left on the storage pool/);
    const files = readdirSync(smallPool).sort();
    assert.equal(files.length, 2, `only the two (blank) volumes: ${files.join(', ')}`);
    for (const f of files) assert.match(f, /^pvc-[0-9a-f-]+\.qcow2$/);
    for (const f of files) assert.equal(virtualSize(join(smallPool, f)), 64 * 1048576);
    await kubectl(['delete', 'dv', 'big-known', 'big-streamed']);
    await eventually(() => readdirSync(smallPool).length === 0, 'the pool to be empty again');
  });
});
