/**
 * The authorizer over a real store: bindings take effect and stop with the next request, role
 * bindings stay in their namespace, groups count; the built-in roles cover every kind served and
 * every KubeVirt subresource; service account tokens are refused when tampered with, expired,
 * meant for another audience; the audit log rotates by size and reads back in order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { namespaceKind } from '../../../src/api/core/core.js';
import { serviceAccountKind } from '../../../src/api/core/serviceaccount.js';
import { bootstrapClusterRoles } from '../../../src/api/rbac/bootstrap.js';
import { clusterRoleKind, roleBindingKind, roleKind, type RoleObject } from '../../../src/api/rbac/rbac.js';
import { kinds } from '../../../src/api/registry.js';
import type { RequestAttributes } from '../../../src/apiserver/auth/attributes.js';
import { AuditLog, auditEvent } from '../../../src/apiserver/auth/audit.js';
import { Authorizer, ruleAllows } from '../../../src/apiserver/auth/authorizer.js';
import { API_AUDIENCE, Authenticator, ISSUER } from '../../../src/apiserver/auth/authenticate.js';
import { issueToken, verifyToken } from '../../../src/apiserver/auth/jwt.js';
import { PolicyIndex } from '../../../src/apiserver/auth/policy-index.js';
import { serviceAccountUserInfo, type UserInfo } from '../../../src/apiserver/auth/user.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { readAuditLog } from '../../../src/cli/audit.js';
import { aggregatedRules } from '../../../src/controllers/rbac/aggregation.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import type { ApiRequest } from '../../../src/apiserver/http.js';

const res = (over: Partial<RequestAttributes>): RequestAttributes => ({
  verb: 'get',
  resourceRequest: true,
  namespace: 'a',
  apiGroup: 'kubevirt.io',
  apiVersion: 'v1',
  resource: 'virtualmachines',
  subresource: '',
  name: '',
  path: '',
  ...over,
});

describe('Authorizer over the store', () => {
  const registry = new Registry(new SqliteStore({ path: ':memory:' }));
  const index = new PolicyIndex(registry.store);
  const authz = new Authorizer(index);
  const bob: UserInfo = { username: 'bob', groups: ['devs', 'system:authenticated'] };
  const can = (user: UserInfo, over: Partial<RequestAttributes>): boolean =>
    authz.authorize({ ...res(over), user }).allowed;
  const rb = (
    name: string,
    ns: string,
    roleKind: 'Role' | 'ClusterRole',
    role: string,
    subject: Record<string, string>,
  ) =>
    registry.create(roleBindingKind, ns, {
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
      subjects: [subject],
    });

  before(() => {
    for (const name of ['a', 'b']) registry.create(namespaceKind, '', { metadata: { name } });
    registry.create(roleKind, 'a', {
      metadata: { name: 'vm-reader', namespace: 'a' },
      rules: [{ apiGroups: ['kubevirt.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] }],
    });
    registry.create(clusterRoleKind, '', {
      metadata: { name: 'starter' },
      rules: [
        { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/start'], verbs: ['update'] },
      ],
    });
    // Many bindings for others: the index answers from the user's own.
    for (let i = 0; i < 200; i++) rb(`other-${i}`, 'a', 'Role', 'vm-reader', { kind: 'User', name: `u${i}` });
  });
  after(() => index.close());

  test('nothing is allowed without a binding', () => assert.equal(can(bob, {}), false));

  test('a RoleBinding to a Role allows in its namespace only, from the next request', () => {
    rb('bob-reads', 'a', 'Role', 'vm-reader', {
      kind: 'User',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'bob',
    });
    assert.equal(can(bob, { verb: 'list' }), true);
    assert.equal(can(bob, { verb: 'list', namespace: 'b' }), false);
    assert.equal(can(bob, { verb: 'list', namespace: '' }), false, 'not across namespaces');
    assert.equal(can(bob, { verb: 'delete', name: 'x' }), false);
    registry.delete(roleBindingKind, 'a', 'bob-reads');
    assert.equal(can(bob, { verb: 'list' }), false, 'the deleted binding no longer counts');
  });

  test('a RoleBinding to a ClusterRole, by group', () => {
    rb('devs-start', 'a', 'ClusterRole', 'starter', {
      kind: 'Group',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'devs',
    });
    const start = { apiGroup: 'subresources.kubevirt.io', subresource: 'start', verb: 'update', name: 'vm1' };
    assert.equal(can(bob, start), true);
    assert.equal(can(bob, { ...start, namespace: 'b' }), false);
    assert.match(
      authz.authorize({ ...res(start), user: bob }).reason,
      /RoleBinding "devs-start\/a" of ClusterRole "starter" to Group "devs"/,
    );
  });

  test('a ServiceAccount subject is that account, and its uid is known until it is deleted', () => {
    const sa = registry.create(serviceAccountKind, 'a', { metadata: { name: 'svc', namespace: 'a' } }).object;
    rb('svc-reads', 'a', 'Role', 'vm-reader', { kind: 'ServiceAccount', name: 'svc' });
    const user = serviceAccountUserInfo('a', 'svc', sa.metadata.uid ?? '');
    assert.equal(can(user, { verb: 'get', name: 'x' }), true);
    assert.equal(index.serviceAccountUid('a', 'svc'), sa.metadata.uid);
    registry.delete(serviceAccountKind, 'a', 'svc');
    assert.equal(index.serviceAccountUid('a', 'svc'), undefined);
  });

  test('system:masters may do anything, rules or not', () =>
    assert.equal(
      can({ username: 'root', groups: ['system:masters'] }, { verb: 'deletecollection', apiGroup: 'x' }),
      true,
    ));
});

describe('built-in roles', () => {
  const roles = new Map(bootstrapClusterRoles(kinds).map((r) => [r.metadata.name ?? '', r]));
  const rulesOf = (name: string) => aggregatedRules(name, roles);
  const allows = (role: string, over: Partial<RequestAttributes>): boolean =>
    rulesOf(role).some((r) => ruleAllows(res(over), r));

  test('view reads every namespaced kind served but secrets and RBAC; edit writes them, secrets included', () => {
    for (const k of kinds.filter((d) => d.namespaced)) {
      const at = { apiGroup: k.group, resource: k.plural };
      const hidden = k.plural === 'secrets' || k.group === 'rbac.authorization.k8s.io';
      assert.equal(allows('view', { ...at, verb: 'list' }), !hidden, `view list ${k.plural}.${k.group}`);
      assert.equal(allows('view', { ...at, verb: 'delete' }), false, `view delete ${k.plural}`);
      if (k.group !== 'rbac.authorization.k8s.io')
        for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection', 'watch'])
          assert.ok(allows('edit', { ...at, verb }), `edit ${verb} ${k.plural}.${k.group}`);
    }
    assert.ok(
      allows('admin', { apiGroup: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'create' }),
    );
    assert.ok(
      !allows('edit', { apiGroup: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'create' }),
    );
  });

  test('KubeVirt actions: edit may start, stop and open consoles; view may not', () => {
    const sub = (resource: string, subresource: string, verb: string) => ({
      apiGroup: 'subresources.kubevirt.io',
      resource,
      subresource,
      verb,
      name: 'x',
    });
    const actions = [
      ...['start', 'stop', 'restart', 'addvolume', 'removevolume'].map((s) =>
        sub('virtualmachines', s, 'update'),
      ),
      ...['pause', 'unpause', 'softreboot'].map((s) => sub('virtualmachineinstances', s, 'update')),
      ...['console', 'vnc', 'portforward'].map((s) => sub('virtualmachineinstances', s, 'get')),
    ];
    for (const a of actions) {
      assert.ok(allows('edit', a), `edit ${a.resource}/${a.subresource}`);
      assert.ok(allows('admin', a), `admin ${a.resource}/${a.subresource}`);
      assert.ok(!allows('view', a), `view ${a.resource}/${a.subresource}`);
    }
    assert.ok(allows('cluster-admin', sub('virtualmachines', 'start', 'update')));
  });

  test("Cozystack's tenant roles nest: view < use < admin < super-admin", () => {
    const start = {
      apiGroup: 'subresources.kubevirt.io',
      resource: 'virtualmachines',
      subresource: 'start',
      verb: 'update',
      name: 'x',
    };
    const console = {
      apiGroup: 'subresources.kubevirt.io',
      resource: 'virtualmachineinstances',
      subresource: 'console',
      verb: 'get',
      name: 'x',
    };
    const listApps = { apiGroup: 'apps.cozystack.io', resource: 'vminstances', verb: 'list' };
    const createApp = { apiGroup: 'apps.cozystack.io', resource: 'vminstances', verb: 'create' };
    const table: [string, boolean[]][] = [
      ['cozy:tenant:view', [false, false, true, false]],
      ['cozy:tenant:use', [true, true, true, false]],
      ['cozy:tenant:admin', [true, true, true, true]],
      ['cozy:tenant:super-admin', [true, true, true, true]],
    ];
    for (const [role, want] of table)
      assert.deepEqual(
        [start, console, listApps, createApp].map((a) => allows(role, a)),
        want,
        role,
      );
    assert.ok(
      allows('cozy:tenant:super-admin', { verb: 'delete', name: 'x' }),
      'super-admin: every verb on kubevirt.io VMs',
    );
    assert.ok(!allows('cozy:tenant:admin', { verb: 'delete', name: 'x' }));
  });

  test('aggregation chains resolve in one pass and stop at cycles', () => {
    const mk = (
      name: string,
      labels: Record<string, string>,
      rules: NonNullable<RoleObject['rules']>,
      select?: string,
    ): [string, RoleObject] => [
      name,
      {
        apiVersion: 'v1',
        kind: 'ClusterRole',
        metadata: { name, labels },
        rules,
        ...(select
          ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [select]: 'true' } }] } }
          : {}),
      },
    ];
    const rule = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
    const m = new Map([
      mk('top', {}, [], 'to-top'),
      mk('mid', { 'to-top': 'true', 'to-mid': 'true' }, [], 'to-mid'),
      mk('leaf', { 'to-mid': 'true' }, [rule]),
    ]);
    assert.deepEqual(aggregatedRules('top', m), [rule]);
  });
});

describe('service account tokens', () => {
  const key = Buffer.alloc(32, 7);
  const now = new Date('2026-12-07T00:00:00Z');
  const claims = {
    iss: 'i',
    sub: 's',
    aud: ['api'],
    exp: now.getTime() / 1000 + 600,
    'kubernetes.io': { namespace: 'a', serviceaccount: { name: 'n', uid: 'u' } },
  };
  const token = issueToken(key, claims, now);
  test('a token verifies with its key, for its audience, before it expires', () =>
    assert.equal(verifyToken(key, token, 'api', now)?.['kubernetes.io'].serviceaccount.uid, 'u'));
  test('refused: another key, another audience, expired, tampered', () => {
    assert.equal(verifyToken(Buffer.alloc(32, 8), token, 'api', now), undefined);
    assert.equal(verifyToken(key, token, 'other', now), undefined);
    assert.equal(verifyToken(key, token, 'api', new Date(now.getTime() + 601_000)), undefined);
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...claims,
        'kubernetes.io': { namespace: 'kube-system', serviceaccount: { name: 'n', uid: 'u' } },
      }),
    ).toString('base64url');
    assert.equal(verifyToken(key, `${h}.${forged}.${s}`, 'api', now), undefined);
    assert.notEqual(p, forged);
  });
});

describe('audit log', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hikube-audit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('rotates by size, keeps the backups asked for, and reads back oldest first', async () => {
    const path = join(dir, 'audit.log');
    const log = new AuditLog({ path, maxBytes: 2000, backups: 2 });
    const req = { url: '/x', headers: {}, socket: { remoteAddress: '127.0.0.1' } } as unknown as ApiRequest;
    for (let i = 0; i < 40; i++)
      log.record(
        auditEvent(
          req,
          res({ verb: 'create', name: `vm${i}` }),
          { username: `u${i}`, groups: [] },
          201,
          new Date(),
          new Date(),
        ),
      );
    await log.close();
    assert.deepEqual((await readdir(dir)).sort(), ['audit.log', 'audit.log.1', 'audit.log.2']);
    const events = await readAuditLog(path);
    assert.ok(events.length > 0 && events.length < 40, 'the oldest were dropped');
    const ids = events.map((e) => Number(e.user.username.slice(1)));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'in order',
    );
    assert.equal(ids.at(-1), 39);
    assert.equal(events[0]?.objectRef?.resource, 'virtualmachines');
  });
});

describe('Authenticator', () => {
  test('a cached token still expires, and still dies with its account', () => {
    const registry = new Registry(new SqliteStore({ path: ':memory:' }));
    registry.create(namespaceKind, '', { metadata: { name: 'a' } });
    const uid =
      registry.create(serviceAccountKind, 'a', { metadata: { name: 'sa', namespace: 'a' } }).object.metadata
        .uid ?? '';
    const index = new PolicyIndex(registry.store);
    const key = Buffer.alloc(32, 3);
    let now = new Date('2026-12-07T00:00:00Z');
    const auth = new Authenticator({
      adminTokens: [],
      scrapeTokens: [],
      signingKey: key,
      index,
      now: () => now,
    });
    const token = issueToken(
      key,
      {
        iss: ISSUER,
        sub: 's',
        aud: [API_AUDIENCE],
        exp: now.getTime() / 1000 + 600,
        'kubernetes.io': { namespace: 'a', serviceaccount: { name: 'sa', uid } },
      },
      now,
    );
    const req = { headers: { authorization: `Bearer ${token}` } } as unknown as ApiRequest;
    const who = () => {
      const id = auth.authenticate(req);
      return id?.kind === 'user' ? id.user.username : undefined;
    };
    assert.equal(who(), 'system:serviceaccount:a:sa');
    assert.equal(who(), 'system:serviceaccount:a:sa', 'again, from the cache');
    now = new Date(now.getTime() + 600_000);
    assert.equal(who(), undefined, 'expired');
    now = new Date('2026-12-07T00:00:00Z');
    assert.equal(who(), 'system:serviceaccount:a:sa');
    registry.delete(serviceAccountKind, 'a', 'sa');
    assert.equal(who(), undefined, 'its account is gone');
    index.close();
  });
});
