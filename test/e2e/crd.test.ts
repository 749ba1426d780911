/**
 * CustomResourceDefinitions with the real kubectl against a real platform: a third-party CRD
 * written here (a Widget with a schema, printer columns, status and scale subresources) is
 * applied, then objects of it are validated, listed with their columns, watched, patched through
 * /status and /scale, and go away with their CRD; a ServiceMonitor-shaped CRD with preserved
 * subtrees applies too; CRDs the server cannot honour are refused, saying why (CEL rules: crd-cel.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubectlOk, repoRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { raw } from '../support/http.js';
import { eventually } from '../support/wait.js';
import { serviceMonitorCrd, widgetCrd } from '../support/crd-fixtures.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

const widget = (name: string, spec: Record<string, unknown>): string =>
  stringify({
    apiVersion: 'example.test/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'default' },
    spec,
  });

describe('CustomResourceDefinitions with kubectl', () => {
  test('a Widget CRD is applied, established and discovered', async () => {
    const out = await ok(['apply', '-f', '-'], stringify(widgetCrd));
    assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/widgets.example.test created/);
    await ok(['wait', '--for=condition=Established', '--timeout=30s', 'crd/widgets.example.test']);
    const crd = JSON.parse(await ok(['get', 'crd', 'widgets.example.test', '-o', 'json'])) as {
      status: { acceptedNames: { kind: string }; conditions: { type: string; status: string }[] };
    };
    assert.equal(crd.status.acceptedNames.kind, 'Widget');
    assert.ok(crd.status.conditions.some((c) => c.type === 'NamesAccepted' && c.status === 'True'));
    const resources = await ok(['api-resources', '--api-group', 'example.test']);
    assert.match(resources, /widgets\s+wd\s+example.test\/v1\s+true\s+Widget/);
    const explained = await ok(['explain', 'widgets.spec.color']);
    assert.match(explained, /KIND:\s+Widget/);
    assert.match(explained, /FIELD:\s+color <string>/);
    assert.match(explained, /ENUM:\s+red\s+green\s+blue/);
  });

  test('objects are validated with one cause per bad field, defaulted and pruned', async () => {
    const bad = await p.kubectl(
      ['apply', '-f', '-'],
      widget('bad', {
        color: 'purple',
        size: 11,
        label: 'UPPERCASE-TOO-LONG',
        port: 1.5,
        tags: ['a', 'a'],
        ports: [{ name: 'x' }, { name: 'x' }],
        template: { metadata: {} },
      }),
    );
    assert.notEqual(bad.code, 0);
    for (const field of [
      'spec.color: Unsupported value: "purple"',
      'spec.size: Invalid value: 11',
      'spec.label: Too long',
      'spec.label: Invalid value: "UPPERCASE-TOO-LONG": spec.label in body should match \'^[a-z]+$\'',
      'spec.port: Invalid value',
      'spec.tags[1]: Duplicate value',
      'spec.ports[1]: Duplicate value',
      'spec.template.apiVersion: Required value',
      'spec.template.kind: Required value',
    ])
      assert.ok(bad.stderr.includes(field), `missing cause ${field} in:\n${bad.stderr}`);
    const missing = await p.kubectl(['apply', '-f', '-'], widget('nocolor', { size: 2 }));
    assert.match(missing.stderr, /spec.color: Required value/);

    // kubectl asks for strict field validation by default; with --validate=warn the server prunes and warns.
    const strict = await p.kubectl(['apply', '-f', '-'], widget('w1', { color: 'red', unknownField: 1 }));
    assert.match(strict.stderr, /strict decoding error: unknown field "spec.unknownField"/);
    await ok(
      ['apply', '--validate=warn', '-f', '-'],
      widget('w1', { color: 'red', unknownField: 1, extra: { any: { thing: [1] } } }),
    );
    const got = JSON.parse(await ok(['get', 'widget', 'w1', '-o', 'json'])) as {
      spec: Record<string, unknown>;
    };
    assert.equal(got.spec['size'], 3, 'the default was applied');
    assert.equal(got.spec['unknownField'], undefined, 'the unknown field was pruned');
    assert.deepEqual(got.spec['extra'], { any: { thing: [1] } }, 'a preserved subtree is kept');
    // kubectl apply drops nulls itself: POST one directly.
    const nulls = await raw(
      p,
      'POST',
      '/apis/example.test/v1/namespaces/default/widgets',
      JSON.stringify({ metadata: { name: 'wnull' }, spec: { color: 'red', note: null, label: null } }),
      { 'Content-Type': 'application/json' },
    );
    assert.equal(nulls.code, 422, nulls.body);
    assert.deepEqual(
      (nulls.json['details'] as { causes: { field: string }[] }).causes.map((c) => c.field),
      ['spec.label'],
      'null is refused only where the schema does not say nullable',
    );
  });

  test('kubectl get shows the printer columns; -w sees changes', async () => {
    await ok(['apply', '-f', '-'], widget('w2', { color: 'blue', size: 7 }));
    const table = await ok(['get', 'widgets']);
    const [header, ...rows] = table.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+COLOR\s+SIZE\s+PHASE\s+AGE$/);
    assert.ok(
      rows.some((r) => /^w2\s+blue\s+7\s+\d+s$/.test(r)),
      table,
    );
    const child = spawn(
      'kubectl',
      [
        '--kubeconfig',
        p.kubeconfigPath,
        '--cache-dir',
        join(p.dataDir, 'kube-cache'),
        'get',
        'widgets',
        '--watch',
        '--output-watch-events',
      ],
      { env: { ...process.env, HOME: p.dataDir } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => /ADDED\s+w2\s+blue\s+7/.test(out), `the initial ADDED of w2 in:\n${out}`);
      await ok(['patch', 'widget', 'w2', '--type', 'merge', '-p', '{"spec":{"size":8}}']);
      await eventually(
        () => /MODIFIED\s+w2\s+blue\s+8/.test(out),
        'a MODIFIED event with the new size',
        20_000,
      );
    } finally {
      child.kill();
    }
  });

  test('status and scale subresources', async () => {
    await ok([
      'patch',
      'widget',
      'w2',
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      '{"status":{"phase":"Ready","readyInstances":2,"selector":"app=w2"}}',
    ]);
    // A write of the main resource keeps the status; a status write keeps the spec.
    await ok([
      'patch',
      'widget',
      'w2',
      '--type',
      'merge',
      '-p',
      '{"spec":{"color":"green"},"status":{"phase":"Ignored"}}',
    ]);
    const got = JSON.parse(await ok(['get', 'widget', 'w2', '-o', 'json'])) as {
      spec: { color: string };
      status: { phase: string };
    };
    assert.equal(got.status.phase, 'Ready');
    assert.equal(got.spec.color, 'green');
    assert.match(await ok(['get', 'widget', 'w2']), /w2\s+green\s+8\s+Ready/);
    await ok(['scale', 'widget', 'w2', '--replicas', '5']);
    const scaled = await raw(p, 'GET', '/apis/example.test/v1/namespaces/default/widgets/w2/scale');
    assert.deepEqual(scaled.json['spec'], { replicas: 5 });
    assert.deepEqual(scaled.json['status'], { replicas: 2, selector: 'app=w2' });
    const after = JSON.parse(await ok(['get', 'widget', 'w2', '-o', 'json'])) as {
      spec: { instances: number };
    };
    assert.equal(after.spec.instances, 5);
    const negative = await p.kubectl(['scale', 'widget', 'w2', '--replicas', '-1']);
    assert.notEqual(negative.code, 0);
  });

  test('server-side apply creates and updates a custom resource', async () => {
    await ok(['apply', '--server-side', '-f', '-'], widget('w3', { color: 'red' }));
    await ok(['apply', '--server-side', '-f', '-'], widget('w3', { color: 'blue', size: 9 }));
    assert.match(await ok(['get', 'widget', 'w3']), /w3\s+blue\s+9/);
  });

  test('strategic merge patch is refused for custom resources with 415', async () => {
    const r = await raw(
      p,
      'PATCH',
      '/apis/example.test/v1/namespaces/default/widgets/w2',
      '{"spec":{"size":4}}',
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(r.code, 415);
  });

  test('a ServiceMonitor-shaped CRD with preserved subtrees applies and serves', async () => {
    await ok(['apply', '-f', '-'], stringify(serviceMonitorCrd));
    await ok([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/servicemonitors.monitoring.example.test',
    ]);
    const monitor = {
      apiVersion: 'monitoring.example.test/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        endpoints: [
          { port: 'http', interval: '30s', relabelings: [{ sourceLabels: ['__name__'], action: 'drop' }] },
        ],
      },
    };
    await ok(['apply', '-f', '-'], stringify(monitor));
    const got = JSON.parse(await ok(['get', 'smon', 'web', '-o', 'json'])) as { spec: unknown };
    assert.deepEqual(got.spec, monitor.spec);
    const older = await raw(
      p,
      'GET',
      '/apis/monitoring.example.test/v1beta1/namespaces/default/servicemonitors/web',
    );
    assert.equal(older.json['apiVersion'], 'monitoring.example.test/v1beta1');
    // Each version reads through its own schema: v1beta1 preserves anything, v1 wants a list.
    const loose = JSON.stringify({ metadata: { name: 'loose' }, spec: { endpoints: 'any', selector: {} } });
    const viaV1 = await raw(
      p,
      'POST',
      '/apis/monitoring.example.test/v1/namespaces/default/servicemonitors',
      loose,
      {
        'Content-Type': 'application/json',
      },
    );
    assert.equal(viaV1.code, 422, viaV1.body);
    const viaBeta = await raw(
      p,
      'POST',
      '/apis/monitoring.example.test/v1beta1/namespaces/default/servicemonitors',
      loose,
      { 'Content-Type': 'application/json' },
    );
    assert.equal(viaBeta.code, 201, viaBeta.body);
    assert.equal(viaBeta.json['apiVersion'], 'monitoring.example.test/v1beta1');
    const badInterval = await p.kubectl(
      ['apply', '-f', '-'],
      stringify({ ...monitor, spec: { ...monitor.spec, endpoints: [{ interval: 'soon' }] } }),
    );
    assert.match(badInterval.stderr, /spec.endpoints\[0\].interval: Invalid value: "soon"/);
  });

  test('CRDs the server cannot honour are refused with the reason', async () => {
    const version = widgetCrd.spec.versions[0];
    const refused = {
      ...widgetCrd,
      metadata: { name: 'gadgets.example.test' },
      spec: {
        ...widgetCrd.spec,
        names: { plural: 'gadgets', kind: 'Gadget' },
        conversion: { strategy: 'Webhook' },
        versions: [
          {
            ...version,
            storage: false,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    'x-kubernetes-validations': [{ rule: 'self.a > 0' }, { rule: 'self.a.frobnicate()' }],
                    properties: { a: { type: 'integer' }, b: {}, c: { type: 'string', pattern: '(a)\\1' } },
                  },
                },
              },
            },
          },
        ],
      },
    };
    const r = await p.kubectl(['apply', '-f', '-'], stringify(refused));
    assert.notEqual(r.code, 0);
    for (const cause of [
      'spec.conversion.strategy: Unsupported value: "Webhook": conversion webhooks are not supported',
      'spec.versions: Invalid value: 0: must have exactly one version marked as storage version',
      'x-kubernetes-validations[1].rule: Invalid value: "self.a.frobnicate()": compilation failed',
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[b].type: Required value',
      'properties[c].pattern: Invalid value',
    ])
      assert.ok(r.stderr.includes(cause), `missing ${cause} in:\n${r.stderr}`);
  });

  test("our own kinds' generated CRDs (deploy/crds) are accepted by the server", async () => {
    const out = await ok(['apply', '--dry-run=server', '-f', join(repoRoot, 'deploy', 'crds')]);
    for (const name of [
      'snapshotschedules.hikube.io',
      'vmdisks.apps.cozystack.io',
      'vminstances.apps.cozystack.io',
    ])
      assert.match(
        out,
        new RegExp(`customresourcedefinition.apiextensions.k8s.io/${name} created \\(server dry run\\)`),
      );
  });

  test('deleting the CRD deletes its objects and stops serving the kind', async () => {
    await ok(['delete', 'crd', 'widgets.example.test', '--timeout=30s']);
    await eventually(
      async () => (await raw(p, 'GET', '/apis/example.test/v1/namespaces/default/widgets')).code === 404,
      'widgets no longer served',
    );
    const gone = await p.kubectl(['get', 'widgets']);
    assert.notEqual(gone.code, 0);
    const left = await raw(
      p,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.test',
    );
    assert.equal(left.code, 404);
  });
});
