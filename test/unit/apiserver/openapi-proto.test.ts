/**
 * The gnostic protobuf form of /openapi/v2, read back with a minimal wire-format reader: field
 * numbers of openapi.v2.Document, Schema and PathItem as gnostic's OpenAPIv2.proto defines them,
 * and the narrowing that keeps kube-openapi's parser happy (one type, one item schema).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeOpenApiV2, schemaMessage } from '../../../src/apiserver/openapi-proto.js';
import { buildOpenApi } from '../../../src/apiserver/openapi.js';
import { groupVersions } from '../../../src/apiserver/discovery.js';
import { kinds } from '../../../src/api/registry.js';

/** Field number → raw values (varints as numbers, length-delimited as Buffers), in order. */
function fields(buf: Buffer): Map<number, (number | Buffer)[]> {
  const out = new Map<number, (number | Buffer)[]>();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      assert.ok(b !== undefined, 'truncated varint');
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    let value: number | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = varint();
      value = buf.subarray(pos, pos + n);
      pos += n;
    } else if (wire === 1) {
      value = buf.subarray(pos, pos + 8);
      pos += 8;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}
const bytes = (m: Map<number, (number | Buffer)[]>, f: number): Buffer[] => (m.get(f) ?? []) as Buffer[];
const text = (m: Map<number, (number | Buffer)[]>, f: number): string | undefined =>
  bytes(m, f)[0]?.toString();

describe('openapi v2 protobuf', () => {
  const v2 = JSON.parse(buildOpenApi(groupVersions(kinds)).v2) as Record<string, unknown>;
  const doc = fields(encodeOpenApiV2(v2));

  test('Document: swagger 1, info 2, paths 8, definitions 9', () => {
    assert.equal(text(doc, 1), '2.0');
    assert.equal(text(fields(bytes(doc, 2)[0] ?? Buffer.alloc(0)), 1), 'Hikube VMs');
    const definitions = bytes(fields(bytes(doc, 9)[0] ?? Buffer.alloc(0)), 1).map(fields);
    const vm = definitions.find((d) => text(d, 1) === 'io.kubevirt.v1.VirtualMachine');
    assert.ok(vm, 'the VirtualMachine definition is there');
    const schema = fields(bytes(vm, 2)[0] ?? Buffer.alloc(0));
    // Vendor extensions (31) carry the GVK as YAML text in Any.yaml (2).
    const gvk = bytes(schema, 31)
      .map(fields)
      .find((e) => text(e, 1) === 'x-kubernetes-group-version-kind');
    assert.deepEqual(
      JSON.parse(
        text(fields(bytes(gvk ?? new Map<number, (number | Buffer)[]>(), 2)[0] ?? Buffer.alloc(0)), 2) ?? '',
      ),
      [{ group: 'kubevirt.io', version: 'v1', kind: 'VirtualMachine' }],
    );
    const paths = bytes(fields(bytes(doc, 8)[0] ?? Buffer.alloc(0)), 2).map(fields);
    const item = paths.find(
      (p) => text(p, 1) === '/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}',
    );
    assert.ok(item, 'the VM item path is there');
    const pathItem = fields(bytes(item, 2)[0] ?? Buffer.alloc(0));
    for (const method of [2, 3, 5, 8])
      assert.equal(bytes(pathItem, method).length, 1, `operation field ${method}`);
    const patch = fields(bytes(pathItem, 8)[0] ?? Buffer.alloc(0));
    assert.equal(text(patch, 5), 'patchVirtualMachine');
  });

  test('schemas narrow to one type and arrays always have one item schema', () => {
    const s = fields(
      schemaMessage({ type: ['string', 'null'], description: 'd', enum: ['a'], maxLength: 3 }).encode(),
    );
    assert.deepEqual(bytes(fields(bytes(s, 22)[0] ?? Buffer.alloc(0)), 1).map(String), ['string']);
    assert.equal(text(s, 4), 'd');
    assert.equal(text(fields(bytes(s, 20)[0] ?? Buffer.alloc(0)), 2), '"a"');
    assert.deepEqual(s.get(11), [3]);
    const wide = fields(schemaMessage({ type: ['string', 'integer'] }).encode());
    assert.equal(wide.get(22), undefined, 'two types: no type (kube-openapi refuses several)');
    const array = fields(schemaMessage({ type: 'array' }).encode());
    assert.equal(bytes(fields(bytes(array, 23)[0] ?? Buffer.alloc(0)), 1).length, 1);
    const map = fields(schemaMessage({ type: 'object', additionalProperties: { type: 'string' } }).encode());
    assert.equal(bytes(map, 21).length, 1);
  });
});
