/**
 * RBAC's evaluation rules as table tests: a rule against request attributes, a path read into
 * attributes as kube-apiserver reads it, and the 403 words.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PolicyRule } from '../../../src/api/rbac/rbac.js';
import {
  forbiddenMessage,
  requestAttributes,
  type RequestAttributes,
} from '../../../src/apiserver/auth/attributes.js';
import { ruleAllows } from '../../../src/apiserver/auth/authorizer.js';

const attrs = (over: Partial<RequestAttributes>): RequestAttributes => ({
  verb: 'get',
  resourceRequest: true,
  namespace: 'ns',
  apiGroup: 'kubevirt.io',
  apiVersion: 'v1',
  resource: 'virtualmachines',
  subresource: '',
  name: 'vm1',
  path: '',
  ...over,
});

describe('ruleAllows', () => {
  const vmRead: PolicyRule = {
    apiGroups: ['kubevirt.io'],
    resources: ['virtualmachines'],
    verbs: ['get', 'list', 'watch'],
  };
  const cases: [string, PolicyRule, Partial<RequestAttributes>, boolean][] = [
    ['verb listed', vmRead, {}, true],
    ['watch listed', vmRead, { verb: 'watch', name: '' }, true],
    ['verb not listed', vmRead, { verb: 'delete' }, false],
    [
      'deletecollection is its own verb',
      { ...vmRead, verbs: ['delete'] },
      { verb: 'deletecollection', name: '' },
      false,
    ],
    ['verb *', { ...vmRead, verbs: ['*'] }, { verb: 'deletecollection' }, true],
    ['other group', vmRead, { apiGroup: 'cdi.kubevirt.io' }, false],
    [
      'core group is ""',
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      { apiGroup: '', resource: 'secrets' },
      true,
    ],
    ['group *', { ...vmRead, apiGroups: ['*'] }, { apiGroup: 'x.io' }, true],
    ['resource does not cover its subresources', vmRead, { subresource: 'status' }, false],
    [
      'resource/sub',
      { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/start'], verbs: ['update'] },
      { apiGroup: 'subresources.kubevirt.io', subresource: 'start', verb: 'update' },
      true,
    ],
    [
      'resource/sub is not another sub',
      { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/start'], verbs: ['update'] },
      { apiGroup: 'subresources.kubevirt.io', subresource: 'stop', verb: 'update' },
      false,
    ],
    ['*/sub', { apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] }, { subresource: 'status' }, true],
    ['*/sub is not the resource', { apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] }, {}, false],
    ['resource *', { apiGroups: ['*'], resources: ['*'], verbs: ['get'] }, { subresource: 'console' }, true],
    ['resourceNames match', { ...vmRead, resourceNames: ['vm1'] }, {}, true],
    ['resourceNames other', { ...vmRead, resourceNames: ['vm2'] }, {}, false],
    [
      'resourceNames never cover a list of all',
      { ...vmRead, resourceNames: ['vm1'] },
      { verb: 'list', name: '' },
      false,
    ],
    ['no groups: no resources', { resources: ['virtualmachines'], verbs: ['get'] }, {}, false],
    ['URL rule never covers a resource', { nonResourceURLs: ['*'], verbs: ['*'] }, {}, false],
  ];
  for (const [what, rule, over, want] of cases)
    test(what, () => assert.equal(ruleAllows(attrs(over), rule), want));

  const url = (path: string, verb = 'get'): RequestAttributes => ({
    ...attrs({}),
    resourceRequest: false,
    path,
    verb,
    apiGroup: '',
    resource: '',
    name: '',
    namespace: '',
  });
  const urls: [string, string[], string, boolean][] = [
    ['exact', ['/healthz'], '/healthz', true],
    ['exact is not a prefix', ['/healthz'], '/healthz/ping', false],
    ['prefix*', ['/apis/*'], '/apis/kubevirt.io/v1', true],
    ['prefix* is not the bare path', ['/apis/*'], '/apis', false],
    ['*', ['*'], '/anything', true],
  ];
  for (const [what, list, path, want] of urls)
    test(`non-resource: ${what}`, () =>
      assert.equal(ruleAllows(url(path), { nonResourceURLs: list, verbs: ['get'] }), want));
  test('non-resource: a resource rule never covers a URL', () =>
    assert.equal(ruleAllows(url('/metrics'), { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }), false));
});

describe('requestAttributes', () => {
  const q = (s = '') => new URLSearchParams(s);
  const cases: [string, string, string, Partial<RequestAttributes>][] = [
    [
      'GET',
      '/api/v1/namespaces/ns/configmaps',
      '',
      { verb: 'list', apiGroup: '', resource: 'configmaps', namespace: 'ns', name: '' },
    ],
    [
      'GET',
      '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines',
      'watch=true',
      { verb: 'watch', resource: 'virtualmachines' },
    ],
    [
      'GET',
      '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines',
      'watch=1&fieldSelector=metadata.name%3Dvm1',
      { verb: 'watch', name: 'vm1' },
    ],
    ['GET', '/apis/kubevirt.io/v1/virtualmachines', '', { verb: 'list', namespace: '' }],
    ['POST', '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines', '', { verb: 'create', name: '' }],
    ['DELETE', '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines', '', { verb: 'deletecollection' }],
    ['DELETE', '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1', '', { verb: 'delete', name: 'vm1' }],
    [
      'PATCH',
      '/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/status',
      '',
      { verb: 'patch', subresource: 'status' },
    ],
    [
      'PUT',
      '/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/start',
      '',
      { verb: 'update', apiGroup: 'subresources.kubevirt.io', subresource: 'start' },
    ],
    [
      'GET',
      '/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm1/portforward/22/tcp',
      '',
      { verb: 'get', resource: 'virtualmachineinstances', subresource: 'portforward', name: 'vm1' },
    ],
    [
      'GET',
      '/api/v1/namespaces/ns',
      '',
      { verb: 'get', resource: 'namespaces', name: 'ns', namespace: 'ns' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/ns/finalize',
      '',
      { verb: 'update', resource: 'namespaces', name: 'ns', subresource: 'finalize' },
    ],
    [
      'POST',
      '/api/v1/namespaces/ns/serviceaccounts/sa/token',
      '',
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'sa' },
    ],
    [
      'GET',
      '/apis/metrics.hikube.io/v1alpha1/namespaces/ns/virtualmachineinstances/vm1/series',
      '',
      { apiGroup: 'metrics.hikube.io', subresource: 'series' },
    ],
  ];
  for (const [method, path, query, want] of cases)
    test(`${method} ${path}?${query}`, () => {
      const got = requestAttributes(method, path, q(query));
      assert.equal(got.resourceRequest, true);
      for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof RequestAttributes], v, k);
    });
  for (const path of [
    '/api',
    '/apis',
    '/apis/kubevirt.io',
    '/apis/kubevirt.io/v1',
    '/metrics',
    '/openapi/v3',
  ])
    test(`${path} is a non-resource URL`, () => {
      const got = requestAttributes('GET', path, q());
      assert.equal(got.resourceRequest, false);
      assert.equal(got.verb, 'get');
    });
});

describe('forbiddenMessage', () => {
  const user = { username: 'system:serviceaccount:a:alice', groups: [] };
  test('an object in a namespace', () =>
    assert.equal(
      forbiddenMessage({ ...attrs({}), user }),
      'virtualmachines.kubevirt.io "vm1" is forbidden: User "system:serviceaccount:a:alice" cannot get resource "virtualmachines" in API group "kubevirt.io" in the namespace "ns"',
    ));
  test('a core list at the cluster scope', () =>
    assert.equal(
      forbiddenMessage({
        ...attrs({ apiGroup: '', resource: 'nodes', name: '', namespace: '', verb: 'list' }),
        user,
      }),
      'nodes is forbidden: User "system:serviceaccount:a:alice" cannot list resource "nodes" in API group "" at the cluster scope',
    ));
  test('a subresource', () =>
    assert.match(
      forbiddenMessage({
        ...attrs({
          apiGroup: 'subresources.kubevirt.io',
          subresource: 'vnc',
          resource: 'virtualmachineinstances',
        }),
        user,
      }),
      /cannot get resource "virtualmachineinstances\/vnc" in API group "subresources\.kubevirt\.io"/,
    ));
  test('a path', () =>
    assert.equal(
      forbiddenMessage({ ...attrs({}), resourceRequest: false, path: '/metrics', user }),
      'forbidden: User "system:serviceaccount:a:alice" cannot get path "/metrics"',
    ));
});
