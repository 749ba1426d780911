/**
 * Bad input gets a precise Status and loses nothing: each case asserts the HTTP code, the reason
 * and the path of every cause, then that nothing was half-created.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { raw, type RawResponse } from '../support/http.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform();
});
after(async () => {
  await p.cleanup();
});

const VMS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachines';

const vm = (
  name: string,
  domain: Record<string, unknown> = {},
  specExtra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name },
  spec: {
    runStrategy: 'Halted',
    template: { spec: { domain: { devices: {}, resources: { requests: { memory: '1Gi' } }, ...domain } } },
    ...specExtra,
  },
});

interface Cause {
  field?: string;
  reason: string;
  message: string;
}
const causesOf = (r: RawResponse): Cause[] =>
  (r.json['details'] as { causes?: Cause[] } | undefined)?.causes ?? [];

function assertStatus(r: RawResponse, code: number, reason: string, fields: string[] = []): void {
  assert.equal(r.code, code, r.body);
  assert.equal(r.json['kind'], 'Status', r.body);
  assert.equal(r.json['reason'], reason, r.body);
  assert.equal(r.json['code'], code);
  assert.deepEqual(
    causesOf(r)
      .map((c) => c.field)
      .sort(),
    [...fields].sort(),
    r.body,
  );
}

async function assertAbsent(name: string): Promise<void> {
  assertStatus(await raw(p, 'GET', `${VMS}/${name}`), 404, 'NotFound');
}

describe('bad input', () => {
  test('an unknown field under fieldValidation=Strict: 400 naming the field; under Warn: a warning', async () => {
    const body = vm('strict-1', {}, { colour: 'blue' });
    (body['spec'] as Record<string, unknown>)['template'] = {
      spec: { domain: { devices: {}, cpus: 2, memory: { guest: '1Gi' } } },
    };
    const r = await raw(p, 'POST', `${VMS}?fieldValidation=Strict`, JSON.stringify(body));
    assertStatus(r, 400, 'BadRequest', ['spec.colour', 'spec.template.spec.domain.cpus']);
    assert.match(String(r.json['message']), /unknown field "spec.colour"/);
    await assertAbsent('strict-1');
    const warned = await raw(p, 'POST', VMS, JSON.stringify(body));
    assert.equal(warned.code, 201, warned.body);
    assert.match(String(warned.headers['warning']), /unknown field \\?"spec.colour\\?"/);
    assert.equal(
      (warned.json['spec'] as Record<string, unknown>)['colour'],
      undefined,
      'unknown fields are dropped',
    );
  });

  test('memory: 4Gx is 422 Invalid at the memory path', async () => {
    const r = await raw(
      p,
      'POST',
      VMS,
      JSON.stringify(vm('mem', { resources: { requests: { memory: '4Gx' } } })),
    );
    assertStatus(r, 422, 'Invalid', ['spec.template.spec.domain.resources.requests.memory']);
    assert.match(causesOf(r)[0]?.message ?? '', /4Gx/);
    await assertAbsent('mem');
  });

  test('wrong types are 422 with every bad field listed, not just the first', async () => {
    const body = vm('types', { cpu: { cores: 'two' } }, { running: 'yes' });
    delete (body['spec'] as Record<string, unknown>)['runStrategy'];
    const r = await raw(p, 'POST', VMS, JSON.stringify(body));
    assertStatus(r, 422, 'Invalid', ['spec.running', 'spec.template.spec.domain.cpu.cores']);
    assert.ok(causesOf(r).every((c) => c.reason === 'FieldValueTypeInvalid'));
    await assertAbsent('types');
  });

  test('KubeVirt admission rules: running with runStrategy is invalid', async () => {
    const r = await raw(p, 'POST', VMS, JSON.stringify(vm('both', {}, { running: true })));
    assert.equal(r.code, 422, r.body);
    assert.ok(
      causesOf(r).some((c) => c.field === 'spec.running'),
      r.body,
    );
    await assertAbsent('both');
  });

  test('a missing name is 422 with a cause on metadata.name', async () => {
    const body = vm('x');
    body['metadata'] = {};
    assertStatus(await raw(p, 'POST', VMS, JSON.stringify(body)), 422, 'Invalid', ['metadata.name']);
  });

  test('a stale resourceVersion is 409 Conflict and the object keeps its newer content', async () => {
    const created = await raw(p, 'POST', VMS, JSON.stringify(vm('stale')));
    assert.equal(created.code, 201);
    // The VM controller writes the new VM's status at once: read the object back after it settled.
    await eventually(
      async () =>
        ((await raw(p, 'GET', `${VMS}/stale`)).json['status'] as { printableStatus?: string } | undefined)
          ?.printableStatus === 'Stopped',
      'the VM controller to report the VM',
    );
    const v1 = (await raw(p, 'GET', `${VMS}/stale`)).json as {
      metadata: { resourceVersion: string };
      spec: Record<string, unknown>;
    };
    const first = await raw(
      p,
      'PUT',
      `${VMS}/stale`,
      JSON.stringify({ ...v1, spec: { ...v1.spec, runStrategy: 'Always' } }),
    );
    assert.equal(first.code, 200, first.body);
    const second = await raw(
      p,
      'PUT',
      `${VMS}/stale`,
      JSON.stringify({ ...v1, spec: { ...v1.spec, runStrategy: 'Manual' } }),
    );
    assertStatus(second, 409, 'Conflict');
    assert.match(String(second.json['message']), /the object has been modified/);
    const now = await raw(p, 'GET', `${VMS}/stale`);
    assert.equal((now.json['spec'] as { runStrategy: string }).runStrategy, 'Always');
  });

  test('a 10 MB body is 413', async () => {
    const big = JSON.stringify({
      ...vm('big'),
      metadata: { name: 'big', annotations: { blob: 'x'.repeat(10 * 1024 * 1024) } },
    });
    assertStatus(await raw(p, 'POST', VMS, big), 413, 'RequestEntityTooLarge');
    await assertAbsent('big');
  });

  test('invalid JSON and invalid YAML are 400', async () => {
    assertStatus(await raw(p, 'POST', VMS, '{"apiVersion": "kubevirt.io/v1", kind'), 400, 'BadRequest');
    const yaml = await raw(p, 'PATCH', `${VMS}/stale?fieldManager=t`, 'spec: [unclosed', {
      'Content-Type': 'application/apply-patch+yaml',
    });
    assertStatus(yaml, 400, 'BadRequest');
    assert.match(String(yaml.json['message']), /not valid YAML/);
  });

  test('no token, or a wrong one, is 401; health and version stay public', async () => {
    assertStatus(await raw(p, 'GET', VMS, undefined, {}, null), 401, 'Unauthorized');
    assertStatus(await raw(p, 'GET', VMS, undefined, {}, 'not-the-token'), 401, 'Unauthorized');
    assert.equal((await raw(p, 'GET', '/healthz', undefined, {}, null)).code, 200);
    assert.equal((await raw(p, 'GET', '/version', undefined, {}, null)).json['major'], '1');
  });

  test('a namespace that does not exist is 404; an unknown resource is 404', async () => {
    assertStatus(
      await raw(p, 'POST', '/apis/kubevirt.io/v1/namespaces/nope/virtualmachines', JSON.stringify(vm('n'))),
      404,
      'NotFound',
    );
    assertStatus(await raw(p, 'GET', '/apis/kubevirt.io/v1/namespaces/default/widgets'), 404, 'NotFound');
  });
});
