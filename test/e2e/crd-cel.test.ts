/**
 * CEL validation rules of a CRD with the real kubectl against a real platform: a Widget CRD whose
 * schema carries `x-kubernetes-validations` (a plain rule, a transition rule, a messageExpression
 * with a fieldPath, a rule on status) is applied; valid Widgets are created, invalid ones are
 * refused with the 422 text kubectl prints; a CRD with a rule that does not compile is refused at
 * the rule's path; a deliberately expensive rule is refused when its schema lets it cost too much,
 * and cut off by the runtime budget otherwise, never left to hold the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { raw } from '../support/http.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const GROUP = 'cel.example.test';

const crd = (plural: string, kind: string, schema: unknown): string =>
  stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural, kind },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  });

const widgetSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'self.replicas <= self.maxReplicas', message: 'replicas must not exceed maxReplicas' },
        {
          rule: 'self.replicas >= oldSelf.replicas',
          message: 'replicas may not decrease',
          reason: 'FieldValueForbidden',
        },
        {
          rule: 'self.tags.all(t, t.lowerAscii() == t)',
          messageExpression:
            "'tags must be lower case, not ' + self.tags.filter(t, t.lowerAscii() != t).join(', ')",
          fieldPath: '.tags',
        },
      ],
      properties: {
        replicas: { type: 'integer' },
        maxReplicas: { type: 'integer' },
        tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 63 }, default: [] },
      },
      required: ['replicas', 'maxReplicas'],
    },
    status: {
      type: 'object',
      properties: { ready: { type: 'integer' } },
      'x-kubernetes-validations': [{ rule: 'self.ready >= 0' }],
    },
  },
};

const widget = (name: string, spec: Record<string, unknown>): string =>
  stringify({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name, namespace: 'default' }, spec });

describe('CEL validation rules with kubectl', () => {
  test('a Widget CRD with rules is accepted; valid Widgets are created', async () => {
    await ok(['apply', '-f', '-'], crd('widgets', 'Widget', widgetSchema));
    await ok(['wait', '--for=condition=Established', '--timeout=30s', `crd/widgets.${GROUP}`]);
    const out = await ok(['apply', '-f', '-'], widget('w1', { replicas: 2, maxReplicas: 5, tags: ['web'] }));
    assert.match(out, /widget.cel.example.test\/w1 created/);
  });

  test('an invalid Widget is refused with one cause per failing rule, as kubectl prints them', async () => {
    const r = await p.kubectl(
      ['apply', '-f', '-'],
      widget('w2', { replicas: 9, maxReplicas: 5, tags: ['Web', 'db', 'API'] }),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The Widget "w2" is invalid: \n\* spec: Invalid value/);
    for (const cause of [
      'spec: Invalid value: "object": replicas must not exceed maxReplicas',
      'spec.tags: Invalid value: "object": tags must be lower case, not Web, API',
    ])
      assert.ok(r.stderr.includes(cause), `missing ${cause} in:\n${r.stderr}`);
    assert.ok(!r.stderr.includes('replicas may not decrease'), 'a transition rule does not run on create');
  });

  test('a transition rule runs on update against the old object', async () => {
    const down = await p.kubectl(
      ['apply', '-f', '-'],
      widget('w1', { replicas: 1, maxReplicas: 5, tags: ['web'] }),
    );
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /spec: Forbidden: replicas may not decrease/);
    await ok(['apply', '-f', '-'], widget('w1', { replicas: 4, maxReplicas: 5, tags: ['web'] }));
    const got = JSON.parse(await ok(['get', `widgets.${GROUP}`, 'w1', '-o', 'json'])) as {
      spec: { replicas: number };
    };
    assert.equal(got.spec.replicas, 4);
  });

  test('rules on status run on the status subresource', async () => {
    const bad = await p.kubectl([
      'patch',
      `widgets.${GROUP}`,
      'w1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"ready":-1}}',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /status: Invalid value: "object": failed rule: self.ready >= 0/);
    await ok([
      'patch',
      `widgets.${GROUP}`,
      'w1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"ready":3}}',
    ]);
  });

  test("a CRD whose rule does not compile is refused at the rule's path", async () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: { a: { type: 'integer' } },
          'x-kubernetes-validations': [
            { rule: 'self.a > 0' },
            { rule: 'self.a.frobnicate()' },
            { rule: 'self.a >', reason: 'Nope' },
          ],
        },
      },
    };
    const r = await p.kubectl(['apply', '-f', '-'], crd('gadgets', 'Gadget', schema));
    assert.notEqual(r.code, 0);
    const at = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations';
    for (const cause of [
      `${at}[1].rule: Invalid value: "self.a.frobnicate()": compilation failed: ERROR: <input>:1:7: undeclared reference to 'frobnicate'`,
      `${at}[2].rule: Invalid value: "self.a >": compilation failed`,
      `${at}[2].reason: Unsupported value: "Nope"`,
    ])
      assert.ok(r.stderr.includes(cause), `missing ${cause} in:\n${r.stderr}`);
    assert.ok(!r.stderr.includes(`${at}[0]`), r.stderr);
  });

  test('a rule too costly for its schema is refused; one within it is cut off by the runtime budget', async () => {
    const costly = (maxItems?: number): unknown => ({
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            l: { type: 'array', items: { type: 'integer' }, ...(maxItems !== undefined ? { maxItems } : {}) },
          },
          'x-kubernetes-validations': [
            { rule: 'self.l.all(x, self.l.all(y, self.l.all(z, x + y + z >= 0)))' },
          ],
        },
      },
    });
    const refused = await p.kubectl(['apply', '-f', '-'], crd('costlies', 'Costly', costly()));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x \(try simplifying the rule, or adding maxItems/,
    );
    await ok(['apply', '-f', '-'], crd('costlies', 'Costly', costly(60)));
    await ok(['wait', '--for=condition=Established', '--timeout=30s', `crd/costlies.${GROUP}`]);
    const body = JSON.stringify({
      metadata: { name: 'c1' },
      spec: { l: Array.from({ length: 60 }, (_, i) => i) },
    });
    const started = performance.now();
    const r = await raw(p, 'POST', `/apis/${GROUP}/v1/namespaces/default/costlies`, body, {
      'Content-Type': 'application/json',
    });
    assert.equal(r.code, 422, r.body.slice(0, 500));
    assert.match(r.body, /validation failed due to running out of cost budget/);
    assert.ok(performance.now() - started < 10_000, 'refused within the budget');
    const version = await raw(p, 'GET', '/version');
    assert.equal(version.code, 200, 'the server still answers');
  });
});
