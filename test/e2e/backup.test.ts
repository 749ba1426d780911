/**
 * Backups end to end (issue 17): the real hikube CLI and kubectl against a real platform, a real
 * S3-protocol server on loopback (test/support/s3server.ts, which counts the bytes it receives and
 * can fail mid-upload) and tiny QEMU guests. A VMInstance with a root disk and a blank 128 MiB data
 * disk writes a known pattern; backup 1 is full; after 64 MiB more from /dev/urandom, backup 2
 * sends about 64 MiB (the server's byte counter; tolerance stated below), not the whole disk.
 * The instance and its disks are deleted; a restore into a new VMInstance boots and reads the same
 * checksums; a restore of backup 1 reads the older content. A Plan with a cron schedule makes
 * BackupJobs. A server that dies mid-upload leaves the BackupJob Failed with the reason and no
 * Backup. A tenant user cannot read the bucket's credentials Secret.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Console, openConsole, sh, waitStatus } from '../support/guest.js';
import { hikubeOk, kubectlOk, run, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { startS3Server, type S3TestServer } from '../support/s3server.js';
import { eventually } from '../support/wait.js';
import { makeImages, serveImages, type ImageServer, type Images } from '../unit/storage/image-server.js';

const MiB = 1024 * 1024;
/** Backup 2 must send the 64 MiB written, give or take: at least 60 MiB, at most 64 + 16 MiB. */
const SENT_MIN = 60 * MiB;
const SENT_MAX = 80 * MiB;

let p: TestPlatform;
let s3: S3TestServer;
let fixtures: Images;
let images: ImageServer;
const consoles: Console[] = [];

before(async () => {
  p = await startTestPlatform();
  s3 = await startS3Server();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-backup-images-')));
  images = await serveImages(fixtures.dir);
});
after(async () => {
  for (const c of consoles) c.close();
  await p?.cleanup();
  await s3?.stop();
  await images?.close();
  if (fixtures !== undefined) await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const hikube = (args: string[]): Promise<string> => hikubeOk(p, args);

/** The data disk: the one of 128 MiB. */
const DEV = `$(for d in /sys/block/vd*; do [ "$(cat $d/size)" = 262144 ] && echo /dev/\${d##*/}; done)`;
const md5 = async (c: Console, skipMiB: number, countMiB: number): Promise<string> =>
  (await sh(c, `dd if=${DEV} bs=1M skip=${skipMiB} count=${countMiB} 2>/dev/null | md5sum`)).split(
    /\s+/,
  )[0] ?? '';

const disks = (name: string): string => `apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata:
  name: ${name}-root
  annotations:
    vm-disk.hikube.io/kernel-image: hikube/tiny
spec:
  source:
    http:
      url: ${images.url}/disk.qcow2
  storage: 64Mi
---
apiVersion: apps.cozystack.io/v1alpha1
kind: VMDisk
metadata: {name: ${name}-data}
spec: {storage: 128Mi}
`;
const instance = (name: string): string => `apiVersion: apps.cozystack.io/v1alpha1
kind: VMInstance
metadata: {name: ${name}}
spec:
  instanceType: ""
  instanceProfile: ""
  resources: {cpu: 1, sockets: 1, memory: 128Mi}
  disks:
  - name: ${name}-root
  - name: ${name}-data
`;

async function boot(vmInstance: string): Promise<Console> {
  await waitStatus(p, `vm-instance-${vmInstance}`, 'Running', 180_000);
  const c = await openConsole(p, `vm-instance-${vmInstance}`);
  consoles.push(c);
  await c.waitFor(/hikube-tiny: ready/, 120_000);
  return c;
}

interface Job {
  status?: { phase?: string; message?: string; backupRef?: { name: string } };
}
interface Backup {
  status?: { phase?: string; artifact?: { uri: string; sizeBytes?: number; checksum?: string } };
}
const get = async <T>(kind: string, name: string): Promise<T | undefined> => {
  const r = await p.kubectl(['get', kind, name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
};

describe('backups to an S3 bucket', () => {
  test('full then incremental, restores into new VMInstances, plans, a failed upload, credentials kept from tenants', async () => {
    // The bucket's strategy: credentials in a namespace no tenant is given.
    await kubectl(['create', 'namespace', 'hikube-system']);
    await kubectl([
      'create',
      'secret',
      'generic',
      'bucket',
      '-n',
      'hikube-system',
      `--from-literal=accessKeyId=${s3.accessKeyId}`,
      `--from-literal=secretAccessKey=${s3.secretAccessKey}`,
    ]);
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: backups.hikube.io/v1alpha1
kind: BackupStrategy
metadata: {name: bucket}
spec: {target: s3, endpoint: "${s3.endpoint}", region: ${s3.region}, bucket: ${s3.bucket}, prefix: e2e, forcePathStyle: true,
  credentialsSecretRef: {namespace: hikube-system, name: bucket}}
---
apiVersion: backups.cozystack.io/v1alpha1
kind: BackupClass
metadata: {name: bucket}
spec:
  strategies:
  - strategyRef: {apiGroup: backups.hikube.io, kind: BackupStrategy, name: bucket}
    application: {kind: VMInstance}
`,
    );

    await kubectl(['apply', '-f', '-'], disks('src'));
    await kubectl(['apply', '-f', '-'], instance('src'));
    const c = await boot('src');
    // A known pattern at 4 MiB, then backup 1 (full).
    await sh(c, `yes hikube-backup-one | head -c 2097152 | dd of=${DEV} bs=1M seek=4 conv=fsync 2>/dev/null`);
    const one = await md5(c, 4, 2);
    s3.resetCount();
    await hikube(['backup', 'create', 'src', '--name', 'one', '--class', 'bucket', '--wait']);
    const b1 = await get<Backup>('backups.backups.cozystack.io', 'one');
    assert.equal(b1?.status?.phase, 'Ready');
    assert.match(b1?.status?.artifact?.uri ?? '', /e2e\/default\/src\/backups\/one\.json$/);
    assert.match(b1?.status?.artifact?.checksum ?? '', /^sha256:[0-9a-f]{64}$/);

    // 64 MiB of random data at 32 MiB; backup 2 sends about that, not the 192 MiB of disks.
    await sh(c, `dd if=/dev/urandom of=${DEV} bs=1M seek=32 count=64 conv=fsync 2>/dev/null`, 180_000);
    const random = await md5(c, 32, 64);
    s3.resetCount();
    await hikube([
      'backup',
      'create',
      'src',
      '--name',
      'two',
      '--class',
      'bucket',
      '--wait',
      '--timeout',
      '900',
    ]);
    const sent = s3.bytesReceived();
    assert.ok(
      sent >= SENT_MIN && sent <= SENT_MAX,
      `backup 2 sent ${sent} bytes; expected ${SENT_MIN}..${SENT_MAX}`,
    );
    const j2 = await get<Job>('backupjobs.backups.cozystack.io', 'two');
    assert.doesNotMatch(j2?.status?.message ?? '', /in full/, j2?.status?.message);

    const listed = await hikube(['backup', 'list', 'src']);
    assert.match(listed, /^one\s+Ready\s+src\s/m);
    assert.match(listed, /^two\s+Ready\s+src\s/m);

    // The instance and its disks go; a restore into a new VMInstance boots with the same data.
    await kubectl(['delete', 'vminstance', 'src', '--wait=true']);
    await kubectl(['delete', 'vmdisk', 'src-root', 'src-data', '--wait=true']);
    await hikube([
      'backup',
      'restore',
      'two',
      '--to',
      'copy',
      '--name',
      'restore-two',
      '--wait',
      '--timeout',
      '900',
    ]);
    const copy = await boot('copy');
    assert.equal(await md5(copy, 4, 2), one, 'the pattern of backup 1 is there');
    assert.equal(await md5(copy, 32, 64), random, 'the random 64 MiB of backup 2 are there');
    await kubectl(['delete', 'vminstance', 'copy', '--wait=true']);

    await hikube([
      'backup',
      'restore',
      'one',
      '--to',
      'old',
      '--name',
      'restore-one',
      '--wait',
      '--timeout',
      '900',
    ]);
    const old = await boot('old');
    assert.equal(await md5(old, 4, 2), one);
    assert.notEqual(await md5(old, 32, 64), random, 'backup 1 predates the random data');
    await kubectl(['delete', 'vminstance', 'old', '--wait=true']);

    // A server that dies mid-upload: the job fails with the reason, and no Backup is left.
    await kubectl(['apply', '-f', '-'], disks('solo'));
    await kubectl(['apply', '-f', '-'], instance('solo'));
    const solo = await boot('solo');
    await sh(solo, `dd if=/dev/urandom of=${DEV} bs=1M seek=8 count=32 conv=fsync 2>/dev/null`, 120_000);
    s3.resetCount();
    const down = s3.failAfter(4 * MiB);
    const failed = await p.hikube([
      'backup',
      'create',
      'solo',
      '--name',
      'cut',
      '--class',
      'bucket',
      '--wait',
      '--timeout',
      '600',
    ]);
    await down;
    assert.notEqual(failed.code, 0, failed.stdout);
    const cut = await get<Job>('backupjobs.backups.cozystack.io', 'cut');
    assert.equal(cut?.status?.phase, 'Failed');
    assert.match(cut?.status?.message ?? '', /^backup failed: .+/);
    assert.equal(
      await get<Backup>('backups.backups.cozystack.io', 'cut'),
      undefined,
      'no Backup of a failed run',
    );
    s3.recover();

    // A Plan on a cron schedule makes BackupJobs.
    await hikube([
      'backup',
      'plan',
      'create',
      'often',
      '--app',
      'solo',
      '--schedule',
      '* * * * *',
      '--class',
      'bucket',
      '--keep',
      '1',
    ]);
    const planned = await eventually(
      async () => {
        const list = JSON.parse(await kubectl(['get', 'backupjobs.backups.cozystack.io', '-o', 'json'])) as {
          items: { metadata: { name: string }; spec: { planRef?: { name: string } } }[];
        };
        return list.items.find((j) => j.spec.planRef?.name === 'often');
      },
      'a BackupJob of the plan',
      150_000,
      1000,
    );
    assert.match(planned.metadata.name, /^often-\d+$/);
    await hikube(['backup', 'plan', 'delete', 'often']);

    // A tenant user cannot read the credentials Secret.
    await hikube(['tenant', 'create', 'bk', '--wait']);
    const kubeconfig = join(p.dataDir, 'bk-user.kubeconfig');
    await hikube(['user', 'create', 'bkuser', '--tenant', 'bk', '--role', 'admin', '--output', kubeconfig]);
    const denied = await run(
      'kubectl',
      [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        join(p.dataDir, 'bk-cache'),
        'get',
        'secret',
        'bucket',
        '-n',
        'hikube-system',
      ],
      undefined,
      { HOME: p.dataDir },
    );
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden|cannot get resource "secrets"/);
  });
});
