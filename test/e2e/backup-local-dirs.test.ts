/**
 * `hikube up --backup-dirs` (issue 17): a real platform process, a local BackupStrategy outside
 * DATA_DIR/backups and the admin's directories fails its BackupJob with the reason before anything
 * is written; one under a directory given by --backup-dirs passes that check (and fails later,
 * on the missing VM, which needs no guest). A relative directory is a usage error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { repoRoot, type TestPlatform } from '../support/platform.js';
import { exited, up, type Child } from '../support/up.js';
import { eventually } from '../support/wait.js';

const B = '/apis/backups.cozystack.io/v1alpha1';
let work: string;
let extra: string;
let child: Child;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'hikube-backup-dirs-'));
  extra = join(work, 'nas');
  await mkdir(extra);
  child = await up(join(work, 'data'), ['--backup-dirs', extra]);
});
after(async () => {
  if (child !== undefined && child.proc.exitCode === null) {
    child.proc.kill('SIGTERM');
    await exited(child.proc);
  }
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** A local strategy at `path`, its class and a BackupJob through it; resolves to the job's failure. */
async function jobThrough(p: TestPlatform, name: string, path: string): Promise<string> {
  const objects: [string, object][] = [
    [
      '/apis/backups.hikube.io/v1alpha1/backupstrategies',
      {
        apiVersion: 'backups.hikube.io/v1alpha1',
        kind: 'BackupStrategy',
        metadata: { name },
        spec: { target: 'local', path },
      },
    ],
    [
      `${B}/backupclasses`,
      {
        apiVersion: 'backups.cozystack.io/v1alpha1',
        kind: 'BackupClass',
        metadata: { name },
        spec: {
          strategies: [
            {
              strategyRef: { apiGroup: 'backups.hikube.io', kind: 'BackupStrategy', name },
              application: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine' },
            },
          ],
        },
      },
    ],
    [
      `${B}/namespaces/default/backupjobs`,
      {
        apiVersion: 'backups.cozystack.io/v1alpha1',
        kind: 'BackupJob',
        metadata: { name },
        spec: {
          applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'none' },
          backupClassName: name,
        },
      },
    ],
  ];
  for (const [path, body] of objects) {
    const r = await raw(p, 'POST', path, JSON.stringify(body));
    assert.equal(r.code, 201, `${path}: ${r.body}`);
  }
  return eventually(
    async () => {
      const j = (await raw(p, 'GET', `${B}/namespaces/default/backupjobs/${name}`)).json as {
        status?: { phase?: string; message?: string };
      };
      return j.status?.phase === 'Failed' ? (j.status.message ?? '') : undefined;
    },
    `BackupJob ${name} to fail`,
    60_000,
    200,
  );
}

describe('hikube up --backup-dirs', () => {
  test('a local strategy outside the allowed directories: the job fails with the reason', async () => {
    const elsewhere = join(work, 'elsewhere');
    const message = await jobThrough(child.platform, 'elsewhere', elsewhere);
    assert.match(
      message,
      new RegExp(
        `^backup failed: BackupStrategy elsewhere: path ${elsewhere} is outside the directories local backups may use \\(${join(work, 'data', 'backups')}, ${extra}\\)`,
      ),
    );
    assert.equal(existsSync(elsewhere), false, 'nothing was written there');
  });

  test('a local strategy under a --backup-dirs directory passes the check', async () => {
    const message = await jobThrough(child.platform, 'nas', join(extra, 'vms'));
    assert.doesNotMatch(message, /outside the directories/);
    assert.match(message, /VirtualMachine default\/none not found/);
  });

  test('a relative --backup-dirs entry is a usage error, and nothing is created', () => {
    const data = join(work, 'bad-data');
    const r = spawnSync(
      join(repoRoot, 'bin', 'hikube'),
      ['up', '--data-dir', data, '--listen', '127.0.0.1:0', '--backup-dirs', `${extra},nas`],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--backup-dirs: "nas" must be an absolute directory without \.\./);
    assert.equal(existsSync(data), false, 'no data dir was made');
  });
});
