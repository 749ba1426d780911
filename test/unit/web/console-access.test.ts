/**
 * The console's reading of RBAC, as table tests: a SelfSubjectRulesReview's rules matched as
 * Kubernetes matches them (wildcards, subresources, resource names), the reason shown on a disabled
 * action, a ServiceAccount user's namespace, and which namespaces count as in the user's reach.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allows,
  deniedReason,
  inReach,
  serviceAccountNamespace,
  type Attempt,
  type ResourceRule,
} from '../../../web/src/auth/rules.js';
import { credentialsFromPaste } from '../../../web/src/auth/kubeconfig.js';

const SUB = 'subresources.kubevirt.io';
const start: Attempt = { verb: 'update', group: SUB, resource: 'virtualmachines/start', name: 'vm1' };

describe('allows', () => {
  const cases: [string, ResourceRule[], Attempt, boolean][] = [
    ['no rules', [], start, false],
    [
      'exact rule',
      [{ verbs: ['update'], apiGroups: [SUB], resources: ['virtualmachines/start'] }],
      start,
      true,
    ],
    [
      'other verb',
      [{ verbs: ['get'], apiGroups: [SUB], resources: ['virtualmachines/start'] }],
      start,
      false,
    ],
    [
      'other group',
      [{ verbs: ['update'], apiGroups: ['kubevirt.io'], resources: ['virtualmachines/start'] }],
      start,
      false,
    ],
    [
      'the resource alone does not cover its subresource',
      [{ verbs: ['update'], apiGroups: [SUB], resources: ['virtualmachines'] }],
      start,
      false,
    ],
    [
      "*/start covers any resource's start",
      [{ verbs: ['update'], apiGroups: [SUB], resources: ['*/start'] }],
      start,
      true,
    ],
    ['all wildcards', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], start, true],
    [
      'a resource name that matches',
      [{ verbs: ['update'], apiGroups: [SUB], resources: ['virtualmachines/start'], resourceNames: ['vm1'] }],
      start,
      true,
    ],
    [
      'a resource name that does not',
      [{ verbs: ['update'], apiGroups: [SUB], resources: ['virtualmachines/start'], resourceNames: ['vm2'] }],
      start,
      false,
    ],
    [
      'named rules never allow an unnamed request',
      [
        {
          verbs: ['create'],
          apiGroups: ['kubevirt.io'],
          resources: ['virtualmachines'],
          resourceNames: ['vm1'],
        },
      ],
      { verb: 'create', group: 'kubevirt.io', resource: 'virtualmachines' },
      false,
    ],
    [
      'the core group is ""',
      [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }],
      { verb: 'list', group: '', resource: 'pods' },
      true,
    ],
    [
      'a rule without groups allows nothing',
      [{ verbs: ['list'], resources: ['pods'] }],
      { verb: 'list', group: '', resource: 'pods' },
      false,
    ],
  ];
  for (const [name, rules, attempt, expected] of cases)
    test(name, () => assert.equal(allows(rules, attempt), expected));
});

test('deniedReason names the user, verb, resource, group and namespace', () => {
  assert.equal(
    deniedReason('system:serviceaccount:tenant-acme:victor', start, 'tenant-acme'),
    'Not allowed: system:serviceaccount:tenant-acme:victor cannot update "virtualmachines/start" in API group "subresources.kubevirt.io" in namespace "tenant-acme"',
  );
  assert.equal(
    deniedReason('bob', { verb: 'delete', group: '', resource: 'services' }, 'ns'),
    'Not allowed: bob cannot delete "services" in namespace "ns"',
  );
});

test('serviceAccountNamespace reads system:serviceaccount:NS:NAME only', () => {
  assert.equal(serviceAccountNamespace('system:serviceaccount:tenant-acme:alice'), 'tenant-acme');
  assert.equal(serviceAccountNamespace('system:admin'), undefined);
  assert.equal(serviceAccountNamespace('system:serviceaccount:tenant-acme'), undefined);
  assert.equal(serviceAccountNamespace('alice'), undefined);
});

describe('inReach', () => {
  const discovery: ResourceRule = {
    verbs: ['get'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews'],
  };
  const read: ResourceRule = {
    verbs: ['get', 'list'],
    apiGroups: ['kubevirt.io'],
    resources: ['virtualmachines'],
  };
  test('a namespace granting only the cluster-wide rules is not in reach', () =>
    assert.equal(inReach([discovery], [discovery]), false));
  test('a namespace granting more is', () => assert.equal(inReach([discovery, read], [discovery]), true));
  test('no rules at all is not', () => assert.equal(inReach([], []), false));
});

describe('credentialsFromPaste', () => {
  const kubeconfig = (namespace: string) =>
    [
      'apiVersion: v1',
      'kind: Config',
      'users: [{name: other, user: {token: wrong}}, {name: victor, user: {token: tok-victor}}]',
      `contexts: [{name: acme, context: {cluster: c, user: victor${namespace}}}]`,
      'current-context: acme',
    ].join('\n');
  test('a bare token is the token', async () =>
    assert.deepEqual(await credentialsFromPaste('  abc.def.ghi\n'), { token: 'abc.def.ghi' }));
  test("a kubeconfig gives its current context's user's token and namespace", async () =>
    assert.deepEqual(await credentialsFromPaste(kubeconfig(', namespace: tenant-acme')), {
      token: 'tok-victor',
      namespace: 'tenant-acme',
    }));
  test('without a namespace in the context, none', async () =>
    assert.deepEqual(await credentialsFromPaste(kubeconfig('')), { token: 'tok-victor' }));
  test('a kubeconfig user without a token gives none', async () =>
    assert.deepEqual(
      await credentialsFromPaste('apiVersion: v1\nusers: [{name: u, user: {client-certificate-data: x}}]\n'),
      { token: undefined },
    ));
});
