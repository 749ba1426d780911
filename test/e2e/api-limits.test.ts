/**
 * The object limits over HTTP: nesting at the limit is accepted and one level more refused with a
 * 4xx Status on every decoding path (JSON, YAML, the three patch types and server-side apply);
 * objects, patched objects and request bodies past their size limits get 413; and the inputs the
 * fuzzer once turned into 500s get 4xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { measure, MAX_DEPTH, MAX_OBJECT_BYTES } from '../../src/api/limits.js';
import { MAX_BODY_BYTES, MAX_YAML_BODY_BYTES } from '../../src/apiserver/body-limits.js';
import { raw, type RawResponse } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { configMapProto } from '../support/protobuf.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';
const CMS = '/api/v1/namespaces/default/configmaps';

/** `levels` nested objects, as JSON text (built without recursion: it may be 6,000 levels deep). */
const nestedText = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
const nested = (levels: number): unknown => JSON.parse(nestedText(levels));

/** A VM whose unknown field `spec.extra` makes the whole body nest exactly `depth` levels. */
function vm(name: string, depth?: number): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    runStrategy: 'Halted',
    template: { spec: { domain: { devices: {}, resources: { requests: { memory: '64Mi' } } } } },
  };
  if (depth !== undefined) spec['extra'] = nested(depth - 2);
  const body = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name }, spec };
  if (depth !== undefined) assert.equal(measure(body, { depth: 1e6, bytes: 1e9 }).depth, depth);
  return body;
}

/** The same VM as JSON text, for depths no serializer should be asked to recurse into. */
const vmText = (name: string, depth: number): string =>
  JSON.stringify(vm(name)).replace('"spec":{', `"spec":{"extra":${nestedText(depth - 2)},`);

const cm = (name: string, bytes: number): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'x'.repeat(bytes) } });

function assertStatus(r: RawResponse, code: number | '4xx'): void {
  if (code === '4xx') assert.ok(r.code >= 400 && r.code < 500, `${r.code}: ${r.body.slice(0, 300)}`);
  else assert.equal(r.code, code, r.body.slice(0, 300));
  assert.equal(r.json['kind'], 'Status', r.body.slice(0, 300));
}

const ok = (r: RawResponse, code: number): void => assert.equal(r.code, code, r.body.slice(0, 300));

describe('nesting limit', () => {
  for (const [type, encode] of [
    ['application/json', (v: unknown) => JSON.stringify(v)],
    ['application/yaml', (v: unknown) => stringify(v)],
  ] as const) {
    test(`${type}: a body ${MAX_DEPTH} levels deep is created, ${MAX_DEPTH + 1} or 6,000 levels get 400`, async () => {
      const name = `depth-${type.split('/')[1] ?? ''}`;
      ok(await raw(p, 'POST', VMS, encode(vm(name, MAX_DEPTH)), { 'Content-Type': type }), 201);
      assertStatus(
        await raw(p, 'POST', VMS, encode(vm(`${name}-x`, MAX_DEPTH + 1)), { 'Content-Type': type }),
        400,
      );
      assertStatus(await raw(p, 'POST', VMS, vmText(`${name}-y`, 6000), { 'Content-Type': type }), 400);
    });
  }

  const extra = (depth: number): string => nestedText(depth - 2);
  const applied = JSON.stringify({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'patched' },
  });
  const patches: [string, (depth: number) => string][] = [
    ['application/merge-patch+json', (d) => `{"spec":{"extra":${extra(d)}}}`],
    ['application/strategic-merge-patch+json', (d) => `{"spec":{"extra":${extra(d)}}}`],
    ['application/json-patch+json', (d) => `[{"op":"add","path":"/spec/extra","value":${extra(d)}}]`],
    ['application/apply-patch+yaml', (d) => applied.replace(/}$/, `,"spec":{"extra":${extra(d)}}}`)],
  ];
  for (const [type, body] of patches) {
    test(`${type}: a patched object ${MAX_DEPTH} levels deep is stored, ${MAX_DEPTH + 1} gets a 4xx`, async () => {
      const created = await raw(p, 'POST', VMS, JSON.stringify(vm('patched')));
      assert.ok(created.code === 201 || created.code === 409, created.body);
      const path = `${VMS}/patched?fieldManager=test`;
      ok(await raw(p, 'PATCH', path, body(MAX_DEPTH), { 'Content-Type': type }), 200);
      assertStatus(await raw(p, 'PATCH', path, body(MAX_DEPTH + 1), { 'Content-Type': type }), '4xx');
      assertStatus(await raw(p, 'PATCH', path, body(6000), { 'Content-Type': type }), '4xx');
    });
  }
});

describe('size limits', () => {
  const cm = (name: string, bytes: number): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { a: 'x'.repeat(bytes) },
    });

  test(`an object over ${MAX_OBJECT_BYTES} bytes gets 413; one just under is created`, async () => {
    ok(await raw(p, 'POST', CMS, cm('under', MAX_OBJECT_BYTES - 4096)), 201);
    assertStatus(await raw(p, 'POST', CMS, cm('over', MAX_OBJECT_BYTES + 16)), 413);
  });

  test('a patch that would grow an object past the limit gets a 4xx and stores nothing', async () => {
    ok(await raw(p, 'POST', CMS, cm('grow', 256 * 1024)), 201);
    const path = `${CMS}/grow`;
    const merge = JSON.stringify({ data: { b: 'y'.repeat(MAX_OBJECT_BYTES) } });
    assertStatus(await raw(p, 'PATCH', path, merge, { 'Content-Type': 'application/merge-patch+json' }), 413);
    // The patch from the issue: 936 bytes of repeated copies that once stored 25.6 MB.
    const copies = JSON.stringify(
      Array.from({ length: 20 }, (_, i) => ({ op: 'copy', from: '/data/a', path: `/data/c${i}` })),
    );
    assertStatus(
      await raw(p, 'PATCH', path, copies, { 'Content-Type': 'application/json-patch+json' }),
      '4xx',
    );
    const after = await raw(p, 'GET', path);
    assert.deepEqual(Object.keys(after.json['data'] as object), ['a']);
  });

  test('request bodies past the limit of their content type get 413', async () => {
    const big = (bytes: number): string => cm('body', bytes);
    assertStatus(await raw(p, 'POST', CMS, big(MAX_BODY_BYTES)), 413);
    assertStatus(
      await raw(p, 'POST', CMS, big(MAX_YAML_BODY_BYTES), { 'Content-Type': 'application/yaml' }),
      413,
    );
    ok(
      await raw(p, 'POST', CMS, cm('yaml-ok', MAX_YAML_BODY_BYTES - 1024), {
        'Content-Type': 'application/yaml',
      }),
      201,
    );
  });

  test('more than 10,000 JSON patch operations get 413', async () => {
    const ops = JSON.stringify(
      Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'ConfigMap' })),
    );
    assertStatus(
      await raw(p, 'PATCH', `${CMS}/grow`, ops, { 'Content-Type': 'application/json-patch+json' }),
      413,
    );
  });
});

describe('inputs the fuzzer once turned into 500s', () => {
  test('a metadata that is not an object: 422 naming metadata', async () => {
    for (const metadata of ['x', 5, [], true]) {
      const r = await raw(p, 'POST', CMS, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata }));
      assertStatus(r, 422);
      const causes = (r.json['details'] as { causes: { field: string }[] }).causes.map((c) => c.field);
      assert.ok(causes.includes('metadata'), r.body);
    }
  });

  test('a JSON patch that replaces the whole object with null: 422', async () => {
    ok(await raw(p, 'POST', CMS, cm('nulled', 1)), 201);
    const r = await raw(p, 'PATCH', `${CMS}/nulled`, '[{"op":"add","path":"","value":null}]', {
      'Content-Type': 'application/json-patch+json',
    });
    assertStatus(r, 422);
    for (const [type, body] of [
      ['application/merge-patch+json', 'null'],
      ['application/merge-patch+json', '[1]'],
      ['application/strategic-merge-patch+json', '"x"'],
      ['application/apply-patch+yaml', '~'],
      ['application/merge-patch+json', '{"metadata": "x"}'],
    ] as const)
      assertStatus(await raw(p, 'PATCH', `${CMS}/nulled`, body, { 'Content-Type': type }), '4xx');
  });

  test('a malformed % escape in the path: 400', async () => {
    for (const path of [
      '/api/v1/namespaces/%zz/configmaps',
      '/api/v1/namespaces/default/configmaps/%',
      '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/a%E0%A4%A',
      '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/%zz/start',
    ]) {
      assertStatus(await raw(p, 'GET', path), 400);
      assertStatus(await raw(p, 'DELETE', path), 400);
    }
  });

  test('a DeleteOptions body that is not an object: 400', async () => {
    ok(await raw(p, 'POST', CMS, cm('delete-me', 1)), 201);
    // Node sends a DELETE body only with an explicit length.
    for (const body of ['[1]', '"x"', 'null'])
      assertStatus(
        await raw(p, 'DELETE', `${CMS}/delete-me`, body, { 'Content-Length': String(body.length) }),
        400,
      );
  });

  test('an 8k-key ConfigMap sent as protobuf is created quickly', async () => {
    const data = Object.fromEntries(Array.from({ length: 8192 }, (_, i) => [`k${i}`, `v${i}`]));
    const started = performance.now();
    const r = await raw(p, 'POST', CMS, configMapProto('proto-8k', data), {
      'Content-Type': 'application/vnd.kubernetes.protobuf',
    });
    ok(r, 201);
    assert.equal(Object.keys(r.json['data'] as object).length, 8192);
    assert.ok(performance.now() - started < 5000, 'the quadratic decoder took 8 s');
  });
});
