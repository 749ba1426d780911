/**
 * DNS rebinding against an S3 endpoint: the controller checks the endpoint's name before a run,
 * and the S3 client resolves it again for each connection. Here the name answers a public address
 * to the check and 127.0.0.1 to the connection, where a real S3-protocol server (s3rver) listens:
 * the connection must be refused by the outbound policy, the job fail with "target not allowed",
 * and the server receive nothing. With private targets allowed, the same setup backs up into that
 * server, which shows the refusal is the policy's and not a broken setup. The controller runs in
 * process with the fake executor of backup-fakes.ts and the platform's real repositories.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { after, before, describe, test } from 'node:test';
import { backupJobKind, type BackupJob } from '../../../src/api/backups/jobs.js';
import { backupClassKind } from '../../../src/api/backups/plan.js';
import { backupStrategyKind } from '../../../src/api/backups/strategy.js';
import { namespaceKind, secretKind } from '../../../src/api/core/core.js';
import type { LookupAll } from '../../../src/network/outbound.js';
import { repositoriesOf } from '../../../src/platform/backups.js';
import { s3Target } from '../../../src/backup/index.js';
import { startS3Server, type S3TestServer } from '../../support/s3server.js';
import { eventually } from '../../support/wait.js';
import { B, makeVmIn, NS, useBackupHarness } from './backup-fakes.js';

const h = useBackupHarness();
let server: S3TestServer;
before(async () => {
  server = await startS3Server();
});
after(() => server.stop());

/** The names each resolver was asked for. */
let checked: string[];
let connected: string[];
const PUBLIC = '16.0.0.1';

/** The connections' resolver: every name is 127.0.0.1, where the S3 server listens. */
const rebound: LookupAll = (hostname, _options, callback) => {
  connected.push(hostname);
  const loopback: LookupAddress = { address: '127.0.0.1', family: 4 };
  callback(null, [loopback]);
};

/** A strategy on `host` at the server's port, a class using it, a job backing a VM up. */
function backUpThrough(host: string, forcePathStyle: boolean): void {
  checked = [];
  connected = [];
  h.resolve = (host) => {
    checked.push(host);
    return Promise.resolve([PUBLIC]);
  };
  const port = new URL(server.endpoint).port;
  h.api.create(namespaceKind, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hikube-system' } });
  h.api.create(secretKind, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bucket', namespace: 'hikube-system' },
    data: { accessKeyId: btoa(server.accessKeyId), secretAccessKey: btoa(server.secretAccessKey) },
  });
  h.api.create(backupStrategyKind, {
    apiVersion: 'backups.hikube.io/v1alpha1',
    kind: 'BackupStrategy',
    metadata: { name: 'bucket' },
    spec: {
      target: 's3',
      endpoint: `http://${host}:${port}`,
      region: server.region,
      bucket: server.bucket,
      prefix: `rebind-${process.pid}-${Date.now()}`,
      forcePathStyle,
      credentialsSecretRef: { namespace: 'hikube-system', name: 'bucket' },
    },
  });
  h.api.create(backupClassKind, {
    apiVersion: B,
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
  makeVmIn(h.api, 'web', false);
  h.api.create(backupJobKind, {
    apiVersion: B,
    kind: 'BackupJob',
    metadata: { name: 'j', namespace: NS },
    spec: {
      applicationRef: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: 'web' },
      backupClassName: 'bucket',
    },
  });
}

const outcome = (): Promise<BackupJob> =>
  eventually(
    () => {
      const j = h.api.get<BackupJob>(backupJobKind, NS, 'j');
      return j?.status?.phase === 'Succeeded' || j?.status?.phase === 'Failed' ? j : undefined;
    },
    'the job finished',
    60_000,
  );

describe('an S3 endpoint whose name changes address after the check', () => {
  for (const [what, pathStyle, host] of [
    ['path-style', true, 's3.rebind.test'],
    ['virtual-hosted (the client connects to bucket.endpoint)', false, 'backups.s3.rebind.test'],
  ] as const)
    test(`${what}: the connection to 127.0.0.1 is refused, the job fails, nothing sent`, async () => {
      h.repositories = repositoriesOf({ allowPrivateTargets: false }, rebound);
      server.resetCount();
      backUpThrough('s3.rebind.test', pathStyle);
      const j = await outcome();
      assert.deepEqual(checked, ['s3.rebind.test'], 'the controller checked the endpoint');
      assert.equal(j.status?.phase, 'Failed');
      assert.match(j.status?.message ?? '', /target not allowed: 127\.0\.0\.1 is a loopback address/);
      assert.ok(connected.includes(host), `connections resolved ${host} (asked: ${connected.join(',')})`);
      assert.equal(server.bytesReceived(), 0, 'the S3 server received nothing');
    });

  test('with private targets allowed, the same job backs up into the server', async () => {
    h.repositories = repositoriesOf({ allowPrivateTargets: true }, rebound);
    server.resetCount();
    // s3rver takes any other host name for a bucket's (CNAME addressing): the name is localhost
    // here, still answered by the two resolvers above.
    backUpThrough('localhost', true);
    const j = await outcome();
    assert.equal(j.status?.phase, 'Succeeded', j.status?.message);
    assert.deepEqual(checked, ['localhost']);
    assert.ok(connected.includes('localhost'));
    assert.ok(server.bytesReceived() > 0, 'the S3 server received the backup');
  });

  test('an IP literal (connected to without a lookup) is checked by the client itself', async () => {
    server.resetCount();
    const target = s3Target({
      endpoint: server.endpoint,
      region: server.region,
      bucket: server.bucket,
      forcePathStyle: true,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      targets: { allowPrivateTargets: false },
    });
    await assert.rejects(target.put('k', Buffer.from('x')), /target not allowed: 127\.0\.0\.1 is a loopback/);
    assert.equal(server.bytesReceived(), 0, 'the S3 server received nothing');
  });
});
