/**
 * Authentication and RBAC with the real kubectl: a ServiceAccount's token from `kubectl create
 * token`, a RoleBinding to the built-in `edit` role, `kubectl auth whoami` and `can-i [--list]`,
 * kube-apiserver's 403 words over REST, watch and the console WebSocket, the audit log naming the
 * user, and the token refused (401) once its account is deleted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { raw } from '../support/http.js';
import type { AuditEvent } from '../../src/apiserver/auth/audit.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let token = '';
const USER = 'system:serviceaccount:team-a:alice';

const vm = (ns: string, name: string): string =>
  JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: { devices: {}, resources: { requests: { memory: '64Mi' } } },
        },
      },
    },
  });

before(async () => {
  p = await startTestPlatform();
  for (const ns of ['team-a', 'team-b']) await kubectlOk(p, ['create', 'namespace', ns]);
  await kubectlOk(p, ['create', 'serviceaccount', 'alice', '-n', 'team-a']);
  await kubectlOk(p, [
    'create',
    'rolebinding',
    'alice-edit',
    '--clusterrole=edit',
    '--serviceaccount=team-a:alice',
    '-n',
    'team-a',
  ]);
  token = (await kubectlOk(p, ['create', 'token', 'alice', '-n', 'team-a', '--duration=20m'])).trim();
});
after(async () => {
  await p.cleanup();
});

const asAlice = (args: string[], input?: string) => p.kubectl(['--token', token, ...args], input);

describe('RBAC with kubectl', () => {
  test('kubectl create token returns a signed, expiring token; whoami names the account', async () => {
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      number
    >;
    const life = (claims['exp'] ?? 0) - (claims['iat'] ?? 0);
    assert.equal(life, 1200, 'the token lives as long as --duration said');
    const who = await asAlice(['auth', 'whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    const info = (JSON.parse(who.stdout) as { status: { userInfo: { username: string; groups: string[] } } })
      .status.userInfo;
    assert.equal(info.username, USER);
    assert.deepEqual([...info.groups].sort(), [
      'system:authenticated',
      'system:serviceaccounts',
      'system:serviceaccounts:team-a',
    ]);
  });

  test('kubectl api-resources lists the review endpoints and TokenRequest, create-only', async () => {
    const out = await kubectlOk(p, ['api-resources', '--no-headers', '-o', 'wide']);
    for (const [name, group, namespaced, kind] of [
      ['selfsubjectaccessreviews', 'authorization.k8s.io/v1', 'false', 'SelfSubjectAccessReview'],
      ['selfsubjectrulesreviews', 'authorization.k8s.io/v1', 'false', 'SelfSubjectRulesReview'],
      ['subjectaccessreviews', 'authorization.k8s.io/v1', 'false', 'SubjectAccessReview'],
      ['localsubjectaccessreviews', 'authorization.k8s.io/v1', 'true', 'LocalSubjectAccessReview'],
      ['selfsubjectreviews', 'authentication.k8s.io/v1', 'false', 'SelfSubjectReview'],
    ] as const) {
      // NAME, (no short names), APIVERSION, NAMESPACED, KIND, VERBS: create only.
      const row = new RegExp(
        `^${name}\\s+${group.replace(/\./g, '\\.')}\\s+${namespaced}\\s+${kind}\\s+create\\s*$`,
        'm',
      );
      assert.match(out, row, `${name} in kubectl api-resources`);
    }
    const sa = await raw(p, 'GET', '/api/v1', undefined, { Accept: 'application/json' });
    const token = (sa.json['resources'] as { name: string; kind: string; verbs: string[] }[]).find(
      (r) => r.name === 'serviceaccounts/token',
    );
    assert.deepEqual(token && { kind: token.kind, verbs: token.verbs }, {
      kind: 'TokenRequest',
      verbs: ['create'],
    });
  });

  test('can-i answers as the binding says, and --list shows the rules', async () => {
    const can = async (args: string[]) => (await asAlice(['auth', 'can-i', ...args])).stdout.trim();
    assert.equal(await can(['create', 'virtualmachines.kubevirt.io', '-n', 'team-a']), 'yes');
    assert.equal(await can(['delete', 'virtualmachines.kubevirt.io', '-n', 'team-a']), 'yes');
    assert.equal(await can(['list', 'virtualmachines.kubevirt.io', '-n', 'team-b']), 'no');
    assert.equal(await can(['create', 'rolebindings', '-n', 'team-a']), 'no', 'edit does not grant RBAC');
    assert.equal(await can(['list', 'nodes']), 'no');
    assert.equal(
      (await p.kubectl(['auth', 'can-i', '*', '*'])).stdout.trim(),
      'yes',
      'the admin may do anything',
    );
    const list = await asAlice(['auth', 'can-i', '--list', '-n', 'team-a']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /virtualmachines\.kubevirt\.io\s+\[\]\s+\[\]\s+\[.*create.*\]/);
    assert.match(
      list.stdout,
      /virtualmachineinstances\.subresources\.kubevirt\.io\/console\s+\[\]\s+\[\]\s+\[get\]/,
    );
  });

  test('the user works in its namespace and gets 403 with the user, verb and resource elsewhere', async () => {
    const created = await asAlice(['apply', '-f', '-'], vm('team-a', 'mine'));
    assert.equal(created.code, 0, created.stderr);
    assert.equal(
      (await kubectlOk(p, ['create', '-f', '-'], vm('team-b', 'theirs'))).trim(),
      'virtualmachine.kubevirt.io/theirs created',
    );
    const listed = await asAlice(['get', 'vm', '-n', 'team-a', '-o', 'name']);
    assert.equal(listed.stdout.trim(), 'virtualmachine.kubevirt.io/mine');
    const denied = await asAlice(['get', 'vm', '-n', 'team-b']);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      /virtualmachines\.kubevirt\.io is forbidden: User "system:serviceaccount:team-a:alice" cannot list resource "virtualmachines" in API group "kubevirt\.io" in the namespace "team-b"/,
    );
    const one = await raw(
      p,
      'GET',
      '/apis/kubevirt.io/v1/namespaces/team-b/virtualmachines/theirs',
      undefined,
      {},
      token,
    );
    assert.equal(one.code, 403);
    assert.equal(
      one.json['message'],
      `virtualmachines.kubevirt.io "theirs" is forbidden: User "${USER}" cannot get resource "virtualmachines" in API group "kubevirt.io" in the namespace "team-b"`,
    );
    assert.deepEqual(one.json['details'], { name: 'theirs', group: 'kubevirt.io', kind: 'virtualmachines' });
    const all = await raw(p, 'GET', '/apis/kubevirt.io/v1/virtualmachines', undefined, {}, token);
    assert.equal(all.code, 403);
    assert.match(
      String(all.json['message']),
      /cannot list resource "virtualmachines" in API group "kubevirt\.io" at the cluster scope/,
    );
    const watch = await raw(
      p,
      'GET',
      '/apis/kubevirt.io/v1/namespaces/team-b/virtualmachines?watch=true',
      undefined,
      {},
      token,
    );
    assert.equal(watch.code, 403, 'a watch the user may not make is refused before any event');
    assert.match(String(watch.json['message']), /cannot watch resource "virtualmachines"/);
    const start = await raw(
      p,
      'PUT',
      '/apis/subresources.kubevirt.io/v1/namespaces/team-b/virtualmachines/theirs/start',
      '{}',
      {},
      token,
    );
    assert.equal(start.code, 403);
    assert.match(
      String(start.json['message']),
      /cannot update resource "virtualmachines\/start" in API group "subresources\.kubevirt\.io" in the namespace "team-b"/,
    );
    const mine = await raw(
      p,
      'PUT',
      '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/mine/start',
      '{}',
      {},
      token,
    );
    assert.equal(mine.code, 202, mine.body);
    const metrics = await raw(
      p,
      'GET',
      '/apis/metrics.hikube.io/v1alpha1/namespaces/team-b/virtualmachineinstances',
      undefined,
      {},
      token,
    );
    assert.equal(metrics.code, 403, 'the metrics API is authorized too');
    assert.equal((await raw(p, 'GET', '/metrics', undefined, {}, token)).code, 403);
  });

  test('the console WebSocket takes the token as a subprotocol and is authorized like a GET', async () => {
    const upgrade = (ns: string) =>
      new Promise<number>((resolve, reject) => {
        const url = `${p.url.replace('https:', 'wss:')}/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/nope/console`;
        const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
        const ws = new WebSocket(url, ['plain.kubevirt.io', bearer], {
          ca: readFileSync(join(p.dataDir, 'pki', 'ca.crt')),
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('the console of a missing VMI opened')));
        ws.once('error', () => undefined);
      });
    assert.equal(await upgrade('team-b'), 403);
    assert.equal(await upgrade('team-a'), 404, 'allowed: on to the missing VMI');
  });

  test('the audit log records the user’s writes and denials, never the token', async () => {
    const path = join(p.dataDir, 'audit.log');
    // A create by generateName: its URL and body name nothing, the server's answer does.
    const generated = vm('team-a', '').replace('"name":""', '"generateName":"gen-"');
    const made = (
      await kubectlOk(p, ['--token', token, 'create', '-f', '-', '-o', 'name'], generated)
    ).trim();
    const generatedName = made.replace(/^virtualmachine\.kubevirt\.io\//, '');
    assert.match(generatedName, /^gen-[a-z0-9]{5}$/);
    const events = await eventually(async () => {
      const lines = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEvent);
      const mine = lines.filter((e) => e.user.username === USER);
      assert.ok(
        mine.some((e) => e.responseStatus.code === 403),
        'a denial is logged',
      );
      // Audit lines are written in batches, up to 10 ms after the response (src/apiserver/auth/audit.ts).
      assert.ok(
        mine.some((e) => e.verb === 'create' && e.objectRef?.name === generatedName),
        'the generated create is logged',
      );
      return { lines, mine };
    }, "the audit log to hold alice's requests");
    const creates = events.mine.filter(
      (e) => e.verb === 'create' && e.objectRef?.resource === 'virtualmachines',
    );
    const create = creates[0];
    // A create names the object it made, as kube-apiserver's audit does.
    assert.deepEqual(create?.objectRef, {
      resource: 'virtualmachines',
      namespace: 'team-a',
      name: 'mine',
      apiGroup: 'kubevirt.io',
      apiVersion: 'v1',
    });
    assert.deepEqual(
      creates.map((e) => e.objectRef?.name),
      ['mine', generatedName],
    );
    assert.equal(create?.responseStatus.code, 201);
    assert.equal(create?.apiVersion, 'audit.k8s.io/v1');
    const denied = events.mine.find((e) => e.responseStatus.code === 403 && e.verb === 'list');
    assert.equal(denied?.objectRef?.namespace, 'team-b');
    assert.ok(!(await readFile(path, 'utf8')).includes(token.split('.')[2] ?? 'x'), 'no token in the log');
    const cli = await p.hikube(['audit', '--data-dir', p.dataDir, '--user', USER, '-o', 'json']);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { items: { user: { username: string } }[] };
    assert.ok(printed.items.length >= 3);
    assert.ok(printed.items.every((e) => e.user.username === USER));
    const table = await p.hikube(['audit', '--data-dir', p.dataDir, '--user', USER, '--since', '1h']);
    assert.match(table.stdout, /^TIME\s+USER\s+VERB\s+RESOURCE\s+NAMESPACE\s+NAME\s+CODE/);
    assert.match(table.stdout, /create\s+virtualmachines\.kubevirt\.io\s+team-a\s+mine\s+201/);
  });

  test('a user who may write RoleBindings may grant only what it holds', async () => {
    await kubectlOk(p, [
      'create',
      'role',
      'binder',
      '--verb=create',
      '--resource=rolebindings',
      '-n',
      'team-a',
    ]);
    await kubectlOk(p, [
      'create',
      'rolebinding',
      'alice-binder',
      '--role=binder',
      '--serviceaccount=team-a:alice',
      '-n',
      'team-a',
    ]);
    const wide = await asAlice([
      'create',
      'rolebinding',
      'grab',
      '--clusterrole=cluster-admin',
      '--serviceaccount=team-a:alice',
      '-n',
      'team-a',
    ]);
    assert.notEqual(wide.code, 0);
    assert.match(wide.stderr, /is attempting to grant RBAC permissions not currently held/);
    const narrow = await asAlice([
      'create',
      'rolebinding',
      'bob-view',
      '--clusterrole=view',
      '--user=bob',
      '-n',
      'team-a',
    ]);
    assert.equal(narrow.code, 0, narrow.stderr);
  });

  test('a watch ends, delivering nothing more, once its user loses the binding', async () => {
    await kubectlOk(p, ['create', 'serviceaccount', 'watcher', '-n', 'team-a']);
    await kubectlOk(p, [
      'create',
      'rolebinding',
      'watcher-view',
      '--clusterrole=view',
      '--serviceaccount=team-a:watcher',
      '-n',
      'team-a',
    ]);
    const watcherToken = (await kubectlOk(p, ['create', 'token', 'watcher', '-n', 'team-a'])).trim();
    const lines: string[] = [];
    let ended = false;
    const req = request(
      new URL('/apis/kubevirt.io/v1/namespaces/team-a/virtualmachines?watch=true', p.url),
      {
        ca: readFileSync(join(p.dataDir, 'pki', 'ca.crt')),
        headers: { Authorization: `Bearer ${watcherToken}` },
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        let buffer = '';
        res.on('data', (c: Buffer) => {
          buffer += c.toString('utf8');
          const parts = buffer.split('\n');
          buffer = parts.pop() ?? '';
          lines.push(...parts.filter((l) => l !== ''));
        });
        res.on('end', () => (ended = true));
      },
    );
    req.end();
    await eventually(() => lines.some((l) => l.includes('"ADDED"')), 'the watch to list the VM');
    await kubectlOk(p, ['label', 'vm', 'mine', '-n', 'team-a', 'seen=yes']);
    await eventually(() => lines.some((l) => l.includes('"MODIFIED"')), 'a change to reach the watcher');
    await kubectlOk(p, ['delete', 'rolebinding', 'watcher-view', '-n', 'team-a']);
    await kubectlOk(p, ['label', 'vm', 'mine', '-n', 'team-a', 'seen=no', '--overwrite']);
    await eventually(() => ended, 'the watch to end');
    const last = JSON.parse(lines.at(-1) ?? '{}') as { type: string; object: { code: number } };
    assert.equal(last.type, 'ERROR');
    assert.equal(last.object.code, 403);
    assert.ok(
      !lines.some((l) => l.includes('"seen":"no"')),
      'the change after the revocation was not delivered',
    );
  });

  test('deleting the ServiceAccount revokes its tokens: 401', async () => {
    await kubectlOk(p, ['delete', 'serviceaccount', 'alice', '-n', 'team-a']);
    const who = await asAlice(['auth', 'whoami']);
    assert.notEqual(who.code, 0);
    assert.match(who.stderr, /Unauthorized/);
    await kubectlOk(p, ['create', 'serviceaccount', 'alice', '-n', 'team-a']);
    assert.equal(
      (await raw(p, 'GET', '/api/v1/namespaces/team-a/serviceaccounts', undefined, {}, token)).code,
      401,
      'a new account of the same name is not the old one',
    );
  });
});
