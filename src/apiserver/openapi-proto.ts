/**
 * `/openapi/v2` in protobuf, the form client-go asks for (`Accept:
 * application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) with no JSON fallback: kubectl's
 * validator reads it before it can say "no matches for kind". The message is gnostic's
 * `openapi.v2.Document`; this encodes the subset our generated Swagger 2.0 document uses, field
 * numbers from gnostic's OpenAPIv2.proto. Vendor extensions, defaults, enums and examples travel as
 * `Any.yaml` (JSON text is YAML). JSON Schema beyond Swagger 2.0 (anyOf, null types) is dropped or
 * narrowed, as kube-openapi does, so that every schema parses on the client.
 */

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What kube-apiserver answers with: the `@` of the requested type is no valid MIME token for Go's parser. */
export const OPENAPI_V2_PROTOBUF_RESPONSE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One protobuf message being written: fields appended in order, nested messages as bytes. */
class Message {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  string(field: number, value: unknown): this {
    if (typeof value !== 'string' || value === '') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  strings(field: number, values: unknown): this {
    if (Array.isArray(values))
      for (const v of values) if (typeof v === 'string') this.bytes(field, Buffer.from(v));
    return this;
  }

  bool(field: number, value: unknown): this {
    if (value !== true) return this;
    this.tag(field, 0);
    this.varint(1);
    return this;
  }

  int(field: number, value: unknown): this {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) return this;
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  double(field: number, value: unknown): this {
    if (typeof value !== 'number') return this;
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
    return this;
  }

  /** A nested message, written even when empty (presence matters for oneofs). */
  message(field: number, value: Message | undefined): this {
    return value === undefined ? this : this.bytes(field, value.encode());
  }

  private bytes(field: number, data: Buffer): this {
    this.tag(field, 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }

  encode(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** gnostic's Any: the value as YAML text. */
const any = (value: unknown): Message => new Message().string(2, JSON.stringify(value));

/** NamedAny list of the `x-…` keys of an object. */
function vendorExtensions(msg: Message, field: number, obj: Json): Message {
  for (const [k, v] of Object.entries(obj))
    if (k.startsWith('x-')) msg.message(field, new Message().string(1, k).message(2, any(v)));
  return msg;
}

/** Swagger 2.0 allows one type; `["string","null"]` narrows to string, anything wider to none. */
function singleType(type: unknown): string | undefined {
  const types = (Array.isArray(type) ? type : [type]).filter((t) => typeof t === 'string' && t !== 'null');
  return types.length === 1 ? (types[0] as string) : undefined;
}

export function schemaMessage(s: Json): Message {
  const m = new Message()
    .string(1, s['$ref'])
    .string(2, s['format'])
    .string(3, s['title'])
    .string(4, s['description']);
  if (s['default'] !== undefined) m.message(5, any(s['default']));
  m.double(6, s['multipleOf'])
    .double(7, s['maximum'])
    .bool(8, s['exclusiveMaximum'])
    .double(9, s['minimum'])
    .bool(10, s['exclusiveMinimum'])
    .int(11, s['maxLength'])
    .int(12, s['minLength'])
    .string(13, s['pattern'])
    .int(14, s['maxItems'])
    .int(15, s['minItems'])
    .bool(16, s['uniqueItems'])
    .int(17, s['maxProperties'])
    .int(18, s['minProperties'])
    .strings(19, s['required']);
  if (Array.isArray(s['enum'])) for (const e of s['enum']) m.message(20, any(e));
  const extra = s['additionalProperties'];
  if (isObj(extra)) m.message(21, new Message().message(1, schemaMessage(extra)));
  else if (typeof extra === 'boolean') m.message(21, new Message().bool(2, extra));
  const type = singleType(s['type']);
  if (type !== undefined) m.message(22, new Message().strings(1, [type]));
  if (type === 'array' || s['items'] !== undefined) {
    // kube-openapi wants exactly one item schema for an array.
    const items = isObj(s['items']) ? s['items'] : {};
    m.message(23, new Message().message(1, schemaMessage(items)));
  }
  if (Array.isArray(s['allOf']))
    for (const sub of s['allOf']) if (isObj(sub)) m.message(24, schemaMessage(sub));
  if (isObj(s['properties'])) {
    const props = new Message();
    for (const [name, sub] of Object.entries(s['properties']))
      if (isObj(sub)) props.message(1, new Message().string(1, name).message(2, schemaMessage(sub)));
    m.message(25, props);
  }
  m.string(26, s['discriminator']).bool(27, s['readOnly']);
  if (s['example'] !== undefined) m.message(30, any(s['example']));
  return vendorExtensions(m, 31, s);
}

function parameterMessage(p: Json): Message {
  let param: Message;
  if (p['in'] === 'body') {
    const body = new Message()
      .string(1, p['description'])
      .string(2, p['name'])
      .string(3, p['in'])
      .bool(4, p['required']);
    if (isObj(p['schema'])) body.message(5, schemaMessage(p['schema']));
    param = new Message().message(1, body);
  } else {
    // Query and path sub-schemas share the leading fields; type and uniqueItems sit one apart.
    const query = p['in'] === 'query';
    const sub = new Message()
      .bool(1, p['required'])
      .string(2, p['in'])
      .string(3, p['description'])
      .string(4, p['name'])
      .string(query ? 6 : 5, p['type'])
      .bool(query ? 20 : 19, p['uniqueItems']);
    param = new Message().message(2, new Message().message(query ? 3 : 4, sub));
  }
  return new Message().message(1, param);
}

function responsesMessage(responses: Json): Message {
  const m = new Message();
  for (const [code, r] of Object.entries(responses)) {
    if (!isObj(r)) continue;
    const response = new Message().string(1, r['description']);
    if (isObj(r['schema'])) response.message(2, new Message().message(1, schemaMessage(r['schema'])));
    m.message(1, new Message().string(1, code).message(2, new Message().message(1, response)));
  }
  return m;
}

function operationMessage(op: Json): Message {
  const m = new Message()
    .strings(1, op['tags'])
    .string(3, op['description'])
    .string(5, op['operationId'])
    .strings(6, op['produces'])
    .strings(7, op['consumes']);
  if (Array.isArray(op['parameters']))
    for (const p of op['parameters']) if (isObj(p)) m.message(8, parameterMessage(p));
  if (isObj(op['responses'])) m.message(9, responsesMessage(op['responses']));
  return vendorExtensions(m, 13, op);
}

const PATH_ITEM_FIELDS: Record<string, number> = {
  get: 2,
  put: 3,
  post: 4,
  delete: 5,
  options: 6,
  head: 7,
  patch: 8,
};

/** Encodes a Swagger 2.0 document (as buildOpenApi makes it) as gnostic's openapi.v2.Document. */
export function encodeOpenApiV2(doc: Json): Buffer {
  const info = isObj(doc['info']) ? doc['info'] : {};
  const paths = new Message();
  for (const [path, item] of Object.entries(isObj(doc['paths']) ? doc['paths'] : {})) {
    if (!isObj(item)) continue;
    const pathItem = new Message();
    for (const [method, field] of Object.entries(PATH_ITEM_FIELDS)) {
      const op = item[method];
      if (isObj(op)) pathItem.message(field, operationMessage(op));
    }
    paths.message(2, new Message().string(1, path).message(2, pathItem));
  }
  const definitions = new Message();
  for (const [name, schema] of Object.entries(isObj(doc['definitions']) ? doc['definitions'] : {}))
    if (isObj(schema))
      definitions.message(1, new Message().string(1, name).message(2, schemaMessage(schema)));
  return new Message()
    .string(1, doc['swagger'])
    .message(2, new Message().string(1, info['title']).string(2, info['version']))
    .message(8, paths)
    .message(9, definitions)
    .encode();
}
