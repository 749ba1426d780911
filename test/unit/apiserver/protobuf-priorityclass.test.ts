/**
 * `kubectl create priorityclass` sends scheduling.k8s.io/v1 PriorityClass as protobuf: the
 * decoder reads it, int32 values included (negatives arrive as 10-byte two's complement varints).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeProtobuf } from '../../../src/apiserver/protobuf.js';
import { field } from '../../support/protobuf.js';

/** Field `number` as a varint (wire type 0) holding the 64-bit two's complement of `value`. */
function int32Field(number: number, value: number): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [number * 8];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}

function priorityClassProto(name: string, value: number, apiVersion = 'scheduling.k8s.io/v1'): Buffer {
  const raw = Buffer.concat([
    field(1, field(1, name)),
    int32Field(2, value),
    field(4, 'for the important VMs'),
    field(5, 'Never'),
  ]);
  const typeMeta = Buffer.concat([field(1, apiVersion), field(2, 'PriorityClass')]);
  return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), field(1, typeMeta), field(2, raw)]);
}

describe('protobuf PriorityClass', () => {
  test('decodes name, value, description and preemptionPolicy', () => {
    assert.deepEqual(decodeProtobuf(priorityClassProto('gold', 1_000_000_000)), {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name: 'gold' },
      value: 1_000_000_000,
      description: 'for the important VMs',
      preemptionPolicy: 'Never',
    });
  });

  test('negative values come back negative', () => {
    for (const value of [-1, -5, -2_147_483_648]) {
      assert.equal(decodeProtobuf(priorityClassProto('low', value))['value'], value);
    }
  });

  test('a PriorityClass under another apiVersion is refused with 415', () => {
    assert.throws(
      () => decodeProtobuf(priorityClassProto('x', 1, 'v1')),
      (err: unknown) => (err as { reason?: string }).reason === 'UnsupportedMediaType',
    );
  });
});
