/**
 * x509 client certificates with real kubectl: `hikube user create --cert` writes a kubeconfig whose
 * certificate (CN = the user, O = its groups) is signed by the platform's CA; the API server takes
 * it as that user, so a RoleBinding to the group allows and none denies (403 naming the user), and
 * `kubectl auth whoami` shows the groups. An expired certificate, or one from another CA, is 401.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { issueClientCert, signClientCert, type ClientCert } from '../../src/apiserver/auth/client-certs.js';
import type { AuditEvent } from '../../src/apiserver/auth/audit.js';
import { alg } from '../../src/apiserver/tls.js';
import { renderKubeconfig } from '../../src/platform/kubeconfig.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

const NS = 'team-cert';
const HOUR_MS = 3600_000;
let p: TestPlatform;
let carol: string;

before(async () => {
  p = await startTestPlatform();
  await kubectlOk(p, ['create', 'namespace', NS]);
  carol = join(p.dataDir, 'carol.kubeconfig');
});
after(async () => {
  await p?.cleanup();
});

const as = (kubeconfig: string, args: string[]) => p.kubectl(['--kubeconfig', kubeconfig, ...args]);

/** A kubeconfig for the platform holding `cert`. */
function kubeconfigWith(name: string, cert: ClientCert): string {
  const path = join(p.dataDir, `${name}.kubeconfig`);
  const ca = readFileSync(join(p.dataDir, 'pki', 'ca.crt'), 'utf8');
  writeFileSync(path, renderKubeconfig(p.url, ca, cert, { user: name, namespace: NS }), { mode: 0o600 });
  return path;
}

describe('x509 client certificates', () => {
  test('hikube user create --cert writes a kubeconfig; whoami shows the user and its groups', async () => {
    const out = await hikubeOk(p, [
      'user',
      'create',
      'carol',
      '--cert',
      '--group',
      'devs',
      '--group',
      'ops',
      '--duration',
      '1h',
      '--data-dir',
      p.dataDir,
      '--output',
      carol,
    ]);
    assert.match(out, /certificate for user carol \(groups devs, ops\)/);
    const config = readFileSync(carol, 'utf8');
    assert.match(config, /client-certificate-data: /);
    assert.doesNotMatch(config, /token:/);
    const who = await kubectlOk(p, ['--kubeconfig', carol, 'auth', 'whoami']);
    assert.match(who, /Username\s+carol/);
    assert.match(who, /Groups\s+\[devs ops system:authenticated\]/);
  });

  test('no binding: 403 naming the user; a RoleBinding to its group allows', async () => {
    const denied = await as(carol, ['get', 'vm', '-n', NS]);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      /User "carol" cannot list resource "virtualmachines" in API group "kubevirt\.io" in the namespace "team-cert"/,
    );
    assert.equal((await as(carol, ['auth', 'can-i', 'list', 'vm', '-n', NS])).stdout.trim(), 'no');
    await kubectlOk(p, [
      'create',
      'rolebinding',
      'devs-view',
      '--clusterrole=view',
      '--group=devs',
      '-n',
      NS,
    ]);
    await eventually(
      async () => (await as(carol, ['get', 'vm', '-n', NS])).code === 0,
      'the group binding',
      10_000,
    );
    assert.equal((await as(carol, ['auth', 'can-i', 'list', 'vm', '-n', NS])).stdout.trim(), 'yes');
    assert.equal((await as(carol, ['auth', 'can-i', 'create', 'vm', '-n', NS])).stdout.trim(), 'no');
    assert.equal((await as(carol, ['auth', 'can-i', 'list', 'vm', '-n', 'default'])).stdout.trim(), 'no');
    // The denial is audited under the certificate's user and groups.
    const refused = await eventually(
      () =>
        readFileSync(join(p.dataDir, 'audit.log'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as AuditEvent)
          .find((e) => e.user.username === 'carol' && e.responseStatus.code === 403),
      "carol's denial in the audit log (written in batches)",
      10_000,
    );
    assert.deepEqual(refused?.user.groups, ['devs', 'ops', 'system:authenticated']);
  });

  test('--tenant and --role bind the certificate user (kind User) to the tenant role', async () => {
    await hikubeOk(p, ['tenant', 'create', 'certco', '--wait']);
    const erin = join(p.dataDir, 'erin.kubeconfig');
    await hikubeOk(p, [
      'user',
      'create',
      'erin',
      '--cert',
      '--tenant',
      'certco',
      '--role',
      'view',
      '--data-dir',
      p.dataDir,
      '--output',
      erin,
    ]);
    const binding = JSON.parse(
      await kubectlOk(p, ['-n', 'tenant-certco', 'get', 'rolebinding', 'hikube-user:erin', '-o', 'json']),
    ) as { subjects: unknown[]; roleRef: { name: string } };
    assert.deepEqual(binding.subjects, [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'erin' },
    ]);
    assert.equal(binding.roleRef.name, 'cozy:tenant:view');
    const canI = async (verb: string, ns: string) =>
      (await as(erin, ['auth', 'can-i', verb, 'vminstances.apps.cozystack.io', '-n', ns])).stdout.trim();
    await eventually(
      async () => (await canI('list', 'tenant-certco')) === 'yes',
      'erin may list in her tenant',
      10_000,
    );
    assert.equal(await canI('create', 'tenant-certco'), 'no', 'view does not create');
    assert.equal(await canI('list', NS), 'no', 'nor list elsewhere');
  });

  test('an expired certificate of the platform CA is refused 401', async () => {
    const now = Date.now();
    const expired = await issueClientCert(join(p.dataDir, 'pki'), {
      user: 'dave',
      groups: ['devs'],
      notBefore: new Date(now - 3 * HOUR_MS),
      notAfter: new Date(now - HOUR_MS),
    });
    const r = await as(kubeconfigWith('dave', expired), ['get', 'vm', '-n', NS]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized/);
  });

  test('a certificate from another CA is refused 401, whatever its groups', async () => {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const foreign = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=foreign-ca',
      notBefore: new Date(Date.now() - HOUR_MS),
      notAfter: new Date(Date.now() + HOUR_MS),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const cert = await signClientCert(foreign.toString('pem'), keys.privateKey, {
      user: 'mallory',
      groups: ['system:masters', 'devs'],
      notBefore: new Date(Date.now() - HOUR_MS),
      notAfter: new Date(Date.now() + HOUR_MS),
    });
    const r = await as(kubeconfigWith('mallory', cert), ['get', 'vm', '-n', NS]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized/);
  });
});
