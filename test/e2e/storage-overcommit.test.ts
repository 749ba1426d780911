/**
 * `hikube up --storage-overcommit` (env HIKUBE_STORAGE_OVERCOMMIT): a bad ratio is a usage error
 * before anything starts; a tiny one leaves a claim Pending with a ProvisioningFailed event that
 * names the limit, through a real `hikube up`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { raw } from '../support/http.js';
import { repoRoot } from '../support/platform.js';
import { exited, up } from '../support/up.js';
import { eventually } from '../support/wait.js';

describe('hikube up --storage-overcommit', () => {
  test('a ratio that is not a positive number is refused, from the flag or the env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-overcommit-'));
    try {
      const args = ['up', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0'];
      const bin = join(repoRoot, 'bin', 'hikube');
      const flag = spawnSync(bin, [...args, '--storage-overcommit', '0'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(flag.status, 0);
      assert.match(flag.stderr, /--storage-overcommit must be a positive number, not "0"/);
      const env = spawnSync(bin, args, {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, HIKUBE_STORAGE_OVERCOMMIT: 'lots' },
      });
      assert.notEqual(env.status, 0);
      assert.match(env.stderr, /--storage-overcommit must be a positive number, not "lots"/);
      assert.equal(existsSync(join(dir, 'data')), false, 'no data dir was made');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a claim past the ratio stays Pending with the reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hikube-overcommit-'));
    const child = await up(dir, ['--storage-overcommit', '0.000000001']);
    try {
      const claim = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'big' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      };
      const ns = '/api/v1/namespaces/default';
      const r = await raw(child.platform, 'POST', `${ns}/persistentvolumeclaims`, JSON.stringify(claim));
      assert.equal(r.code, 201, r.body);
      const message = await eventually(
        async () => {
          const list = (await raw(child.platform, 'GET', `${ns}/events`)).json as {
            items?: { reason?: string; message?: string; involvedObject?: { name?: string } }[];
          };
          return list.items?.find(
            (e) => e.involvedObject?.name === 'big' && e.reason === 'ProvisioningFailed',
          )?.message;
        },
        'a ProvisioningFailed event',
        20_000,
        200,
      );
      assert.match(message, /not provisioning volume pvc-.* of 1Gi: .*over its limit/);
      const got = (await raw(child.platform, 'GET', `${ns}/persistentvolumeclaims/big`)).json as {
        status?: { phase?: string };
      };
      assert.equal(got.status?.phase, 'Pending');
    } finally {
      child.proc.kill('SIGTERM');
      await exited(child.proc);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
