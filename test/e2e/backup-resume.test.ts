/**
 * An interrupted BackupJob resumes (issue 17): a real `hikube up` backs a VM's 160 MiB disk of
 * random data up to a real S3-protocol server on loopback (five 32 MiB packs, two uploading at
 * once); the server hangs once 100 MiB have arrived, and `hikube up` is killed with SIGKILL
 * mid-upload. At the next start the same BackupJob runs again and ends Succeeded with a Ready
 * Backup (not Running forever, not Failed), sending only what the bucket did not hold yet (the
 * server's byte counter, against the packs stored with their index before the kill); a restore of
 * it, which verifies every checksum, succeeds. No guest boots: the VM is Halted (a stopped VM's
 * point is taken with qemu-img).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { qemuPids } from '../support/guest.js';
import { raw } from '../support/http.js';
import type { TestPlatform } from '../support/platform.js';
import { startS3Server, type S3TestServer } from '../support/s3server.js';
import { exited, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';
import { serveImages, type ImageServer } from '../unit/storage/image-server.js';

const MiB = 1024 * 1024;
const DATA = 160 * MiB;
const PACK = 32 * MiB;
const HOLD_AT = 100 * MiB;
/**
 * Request lines, headers, pack indexes, the manifest, zstd's few bytes per random chunk: one run
 * sent 7.4 MB more than the two missing packs (not broken down further). Sending everything again
 * (160 MiB), or one stored pack again (+32 MiB), still fails the check.
 */
const SLACK = 12 * MiB;
const FLAGS = ['--allow-private-targets'];
const B = '/apis/backups.cozystack.io/v1alpha1';
const NSB = `${B}/namespaces/default`;

let work: string;
let dataDir: string;
let child: Child | undefined;
let s3: S3TestServer;
let images: ImageServer;

/** Pids of processes (qemu-nbd readers a killed platform left) whose command line names `marker`. */
function pidsMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.startsWith('qemu-nbd') && cmdline.includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/**
 * Bytes of the packs s3rver holds whose index is stored too (s3rver keeps an object as a file
 * named KEY._S3rver_object): a pack stored without its index is not trusted and is sent again.
 */
function storedBytes(dir: string): number {
  const files = new Map<string, number>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('._S3rver_object')) files.set(path, statSync(path).size);
    }
  };
  walk(dir);
  let n = 0;
  for (const [path, size] of files) {
    const index = path.replace('/packs/', '/index/').replace(/\._S3rver_object$/, '.json._S3rver_object');
    if (path.includes('/packs/') && files.has(index)) n += size;
  }
  return n;
}

before(async () => {
  process.env['HIKUBE_ACCEL'] ??= 'tcg';
  work = await mkdtemp(join(tmpdir(), 'hikube-backup-resume-'));
  dataDir = join(work, 'data');
  writeFileSync(join(work, 'random.raw'), randomBytes(DATA));
  images = await serveImages(work);
  s3 = await startS3Server();
});

after(async () => {
  if (child !== undefined && child.proc.exitCode === null) {
    child.proc.kill('SIGKILL');
    await exited(child.proc);
  }
  for (const pid of [...qemuPids(dataDir), ...pidsMentioning(dataDir)]) process.kill(pid, 'SIGKILL');
  s3?.release();
  await s3?.stop();
  await images?.close();
  await rm(work, { recursive: true, force: true });
});

async function post(p: TestPlatform, path: string, body: object): Promise<void> {
  const r = await raw(p, 'POST', path, JSON.stringify(body));
  assert.equal(r.code, 201, `POST ${path}: ${r.body}`);
}

interface Job {
  status?: {
    phase?: string;
    message?: string;
    conditions?: { type: string; message?: string }[];
  };
}
const job = async (p: TestPlatform, kind: string, name: string): Promise<Job> =>
  (await raw(p, 'GET', `${NSB}/${kind}/${name}`)).json;

describe('a BackupJob interrupted by kill -9 of the platform', () => {
  test('resumes at the next start, ends Succeeded, sends only what was not stored yet', async (t) => {
    child = await up(dataDir, FLAGS);
    const p = child.platform;
    await post(p, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'hikube-system' },
    });
    await post(p, '/api/v1/namespaces/hikube-system/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bucket' },
      stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await post(p, '/apis/backups.hikube.io/v1alpha1/backupstrategies', {
      apiVersion: 'backups.hikube.io/v1alpha1',
      kind: 'BackupStrategy',
      metadata: { name: 'bucket' },
      spec: {
        target: 's3',
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: s3.bucket,
        forcePathStyle: true,
        credentialsSecretRef: { namespace: 'hikube-system', name: 'bucket' },
      },
    });
    await post(p, `${B}/backupclasses`, {
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'BackupClass',
      metadata: { name: 'bucket' },
      spec: {
        strategies: [
          {
            strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name: 'bucket' },
            application: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' },
          },
        ],
      },
    });
    await post(p, '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes', {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name: 'rdata' },
      spec: {
        source: { http: { url: `${images.url}/random.raw` } },
        storage: { resources: { requests: { storage: '160Mi' } } },
      },
    });
    await post(p, '/apis/kubevirt.io/v1/namespaces/default/virtualmachines', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'vm' },
      spec: {
        runStrategy: 'Halted',
        template: {
          spec: {
            domain: { devices: { disks: [{ name: 'data', disk: {} }] }, memory: { guest: '128Mi' } },
            volumes: [{ name: 'data', dataVolume: { name: 'rdata' } }],
          },
        },
      },
    });
    await eventually(
      async () =>
        (
          (await raw(p, 'GET', '/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/rdata'))
            .json as Job
        ).status?.phase === 'Succeeded',
      'the random disk imported',
      120_000,
      200,
    );

    // The server hangs mid-upload; the platform is killed there.
    const held = s3.holdAfter(HOLD_AT);
    await post(p, `${NSB}/backupjobs`, {
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'BackupJob',
      metadata: { name: 'cut' },
      spec: {
        applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'vm' },
        backupClassName: 'bucket',
      },
    });
    let reached = false;
    void held.then(() => (reached = true));
    const outcome = await eventually(
      async () => {
        if (reached) return 'held';
        const s = (await job(p, 'backupjobs', 'cut')).status;
        return s?.phase === 'Failed' || s?.phase === 'Succeeded'
          ? `ended ${s.phase}: ${s.message ?? ''}`
          : undefined;
      },
      'the upload to reach the hold point',
      300_000,
      100,
    );
    assert.equal(outcome, 'held');
    assert.equal((await job(p, 'backupjobs', 'cut')).status?.phase, 'Running');
    child.proc.kill('SIGKILL');
    await exited(child.proc);
    for (const pid of pidsMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    const storedBefore = storedBytes(s3.dir);
    // At least one whole pack with its index, so that sending everything again would fail below.
    assert.ok(storedBefore >= PACK, `only ${storedBefore} bytes of packs were stored before the kill`);
    s3.release();
    s3.resetCount();

    child = await up(dataDir, FLAGS);
    const q = child.platform;
    const done = await eventually(
      async () => {
        const j = await job(q, 'backupjobs', 'cut');
        return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : undefined;
      },
      'the resumed BackupJob to finish',
      300_000,
      250,
    );
    assert.equal(done.status?.phase, 'Succeeded', done.status?.message);
    assert.equal(
      done.status?.conditions?.find((c) => c.type === 'Resumed')?.message,
      'resumed 1 time(s) after the platform stopped during the run',
    );
    const backup = (await raw(q, 'GET', `${NSB}/backups/cut`)).json as { status?: { phase?: string } };
    assert.equal(backup.status?.phase, 'Ready');
    const sent = s3.bytesReceived();
    t.diagnostic(`stored before the kill: ${storedBefore} bytes; sent by the resumed run: ${sent} bytes`);
    assert.ok(
      sent <= DATA - storedBefore + SLACK,
      `the resumed run sent ${sent} bytes; ${storedBefore} of ${DATA} were stored before the kill`,
    );

    // The artifact is whole: a restore reads and verifies every chunk.
    await post(q, `${NSB}/restorejobs`, {
      apiVersion: 'backups.cozystack.io/v1alpha1',
      kind: 'RestoreJob',
      metadata: { name: 'back' },
      spec: {
        backupRef: { name: 'cut' },
        targetApplicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'copy' },
      },
    });
    const restored = await eventually(
      async () => {
        const j = await job(q, 'restorejobs', 'back');
        return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : undefined;
      },
      'the restore to finish',
      300_000,
      250,
    );
    assert.equal(restored.status?.phase, 'Succeeded', restored.status?.message);
  });
});
