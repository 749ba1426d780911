/**
 * kubectl writes built-in core kinds (`kubectl create namespace|configmap|secret`) as Kubernetes
 * protobuf, with no JSON fallback. This decodes that wire format into the JSON shape for the few
 * core kinds we serve, from small field tables (field number → name and type). Unknown fields are
 * skipped, as protobuf readers do; a kind without a table is refused with 415.
 */
import { ApiError } from './errors.js';
import { authApiVersions, authKinds } from './protobuf-auth.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** `quantity`: resource.Quantity, a message whose field 1 is the quantity as written. */
export type FieldType =
  | 'string'
  | 'bytes'
  | 'bool'
  | 'int'
  | 'int32'
  | 'quantity'
  | { message: MessageTable }
  | { map: 'string' | 'bytes' | 'quantity' };
export interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
export type MessageTable = Record<number, Field>;

const OwnerReference: MessageTable = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

export const ObjectMeta: MessageTable = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: { name: 'ownerReferences', type: { message: OwnerReference }, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const KINDS: Record<string, MessageTable> = {
  Namespace: {
    1: { name: 'metadata', type: { message: ObjectMeta } },
    2: { name: 'spec', type: { message: { 1: { name: 'finalizers', type: 'string', repeated: true } } } },
  },
  ConfigMap: {
    1: { name: 'metadata', type: { message: ObjectMeta } },
    2: { name: 'data', type: { map: 'string' } },
    3: { name: 'binaryData', type: { map: 'bytes' } },
    4: { name: 'immutable', type: 'bool' },
  },
  Secret: {
    1: { name: 'metadata', type: { message: ObjectMeta } },
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  },
  // `kubectl create quota`.
  ResourceQuota: {
    1: { name: 'metadata', type: { message: ObjectMeta } },
    2: {
      name: 'spec',
      type: {
        message: {
          1: { name: 'hard', type: { map: 'quantity' } },
          2: { name: 'scopes', type: 'string', repeated: true },
        },
      },
    },
  },
  // `kubectl create priorityclass`.
  PriorityClass: {
    1: { name: 'metadata', type: { message: ObjectMeta } },
    2: { name: 'value', type: 'int32' },
    3: { name: 'globalDefault', type: 'bool' },
    4: { name: 'description', type: 'string' },
    5: { name: 'preemptionPolicy', type: 'string' },
  },
  ...authKinds(ObjectMeta),
};

/** The apiVersions each table decodes; core/v1 unless listed. */
const API_VERSIONS: Record<string, string[]> = {
  PriorityClass: ['scheduling.k8s.io/v1'],
  ...authApiVersions,
};

export const isProtobuf = (contentType: string | undefined): boolean =>
  (contentType ?? '').includes('protobuf');

export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new ApiError('BadRequest', 'the protobuf body does not start with the Kubernetes magic number');
  const envelope = readMessage(body.subarray(4), {
    1: {
      name: 'typeMeta',
      type: { message: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
    },
    2: { name: 'raw', type: 'bytes' },
  });
  const typeMeta = (envelope['typeMeta'] ?? {}) as { apiVersion?: string; kind?: string };
  const table = typeMeta.kind === undefined ? undefined : KINDS[typeMeta.kind];
  const versions = typeMeta.kind === undefined ? ['v1'] : (API_VERSIONS[typeMeta.kind] ?? ['v1']);
  const apiVersion = typeMeta.apiVersion ?? '';
  if (table === undefined || !versions.includes(apiVersion)) {
    const accepted = Object.keys(KINDS).map((k) => `${(API_VERSIONS[k] ?? ['v1']).join('|')} ${k}`);
    throw new ApiError(
      'UnsupportedMediaType',
      `protobuf bodies are accepted for ${accepted.join(', ')}; send ${typeMeta.kind ?? 'this kind'} as application/json`,
    );
  }
  const raw = Buffer.from(typeof envelope['raw'] === 'string' ? envelope['raw'] : '', 'base64');
  return { apiVersion, kind: typeMeta.kind, ...readMessage(raw, table) };
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 1;
    for (;;) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new ApiError('BadRequest', 'the protobuf body is truncated');
      result += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) return result;
      shift *= 128;
    }
  }
  /** A varint read as a signed 32-bit integer: negatives arrive as 10-byte two's complement. */
  int32(): number {
    let low = 0;
    for (let i = 0; ; i++) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new ApiError('BadRequest', 'the protobuf body is truncated');
      if (i < 5) low = (low | ((byte & 0x7f) << (7 * i))) >>> 0;
      if ((byte & 0x80) === 0) return low | 0;
      if (i >= 9) throw new ApiError('BadRequest', 'the protobuf body has a malformed varint');
    }
  }
  bytes(): Buffer {
    const length = this.varint();
    const out = this.buf.subarray(this.pos, this.pos + length);
    if (out.length !== length) throw new ApiError('BadRequest', 'the protobuf body is truncated');
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new ApiError('BadRequest', `the protobuf body has an unsupported wire type ${wireType}`);
  }
}

function readMessage(buf: Buffer, table: MessageTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Map entries are gathered per field and turned into one object at the end: rebuilding the map
  // per entry made decoding quadratic (8k ConfigMap keys froze the server for seconds).
  const maps = new Map<string, [string, unknown][]>();
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const field = table[Math.floor(key / 8)];
    const wireType = key % 8;
    if (field === undefined) {
      r.skip(wireType);
      continue;
    }
    const value = readValue(r, field.type, wireType);
    if (typeof field.type === 'object' && 'map' in field.type) {
      const entries = maps.get(field.name) ?? [];
      if (entries.length === 0) maps.set(field.name, entries);
      entries.push(value as [string, unknown]);
    } else if (field.repeated === true) {
      ((out[field.name] ??= []) as unknown[]).push(value);
    } else {
      out[field.name] = value;
    }
  }
  // fromEntries defines own properties: a key spelled `__proto__` stays data.
  for (const [name, entries] of maps) out[name] = Object.fromEntries(entries);
  return out;
}

function readValue(r: Reader, type: FieldType, wireType: number): unknown {
  if (type === 'int') return r.varint();
  if (type === 'int32') return r.int32();
  if (type === 'bool') return r.varint() !== 0;
  const bytes = wireType === 2 ? r.bytes() : Buffer.alloc(0);
  if (type === 'string') return bytes.toString('utf8');
  if (type === 'bytes') return bytes.toString('base64');
  if (type === 'quantity')
    return readMessage(bytes, { 1: { name: 'string', type: 'string' } })['string'] ?? '';
  if ('message' in type) return readMessage(bytes, type.message);
  const entry = readMessage(bytes, {
    1: { name: 'key', type: 'string' },
    2: { name: 'value', type: type.map },
  });
  return [typeof entry['key'] === 'string' ? entry['key'] : '', entry['value'] ?? ''];
}
