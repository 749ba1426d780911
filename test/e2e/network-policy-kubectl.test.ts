/**
 * NetworkPolicy through the real kubectl against a real server: discovery and OpenAPI let
 * `apply` and `explain` work, `get` prints kube-apiserver's columns, the stored object carries
 * Kubernetes' defaults, and a bad policy is refused with one line per bad field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { NetworkPolicy } from '../../src/api/network/networkpolicy.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const good = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
spec:
  podSelector:
    matchLabels:
      app: db
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: web
        - namespaceSelector:
            matchLabels:
              team: red
      ports:
        - port: 5432
        - port: metrics
          protocol: UDP
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/8
            except: [10.1.0.0/16]
`;

const bad = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: broken
spec:
  ingress:
    - from:
        - {}
        - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}
          podSelector: {}
      ports:
        - port: 70000
        - port: http
          endPort: 90
`;

describe('NetworkPolicy with kubectl', () => {
  test('apply, get, explain, delete', async () => {
    assert.match(
      await ok(['apply', '-f', '-'], good),
      /networkpolicy.networking.k8s.io\/db-from-web created/,
    );
    const table = (await ok(['get', 'netpol'])).split('\n');
    assert.match(table[0] ?? '', /^NAME\s+POD-SELECTOR\s+AGE$/);
    assert.match(table[1] ?? '', /^db-from-web\s+app=db\s+\d+s$/);
    const stored = parse(await ok(['get', 'networkpolicy', 'db-from-web', '-o', 'yaml'])) as NetworkPolicy;
    assert.deepEqual(stored.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(
      stored.spec?.ingress?.[0]?.ports?.map((x) => x.protocol),
      ['TCP', 'UDP'],
    );
    assert.match(await ok(['explain', 'networkpolicy.spec.ingress.from.ipBlock']), /except/);
    // kubectl sends the atomic ports list again (the stored one has protocol: TCP defaulted);
    // defaulting gives the same object back, so nothing changes.
    assert.match(await ok(['apply', '-f', '-'], good), /db-from-web (unchanged|configured)/);
    const again = parse(await ok(['get', 'networkpolicy', 'db-from-web', '-o', 'yaml'])) as NetworkPolicy;
    assert.equal(again.metadata.generation, stored.metadata.generation);
    assert.equal(again.metadata.resourceVersion, stored.metadata.resourceVersion);
    await ok(['delete', 'netpol', 'db-from-web']);
    const left = await p.kubectl(['get', 'netpol']);
    assert.match(left.stderr, /No resources found/);
  });

  test('a bad policy is refused with every bad field', async () => {
    const r = await p.kubectl(['apply', '-f', '-'], bad);
    assert.notEqual(r.code, 0);
    for (const field of [
      'spec.ingress[0].from[0]',
      'spec.ingress[0].from[1]',
      'spec.ingress[0].from[1].ipBlock.except[0]',
      'spec.ingress[0].ports[0].port',
      'spec.ingress[0].ports[1].endPort',
    ])
      assert.ok(r.stderr.includes(`${field}:`), `${field} in: ${r.stderr}`);
  });
});
