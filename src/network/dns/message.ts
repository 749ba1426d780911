/**
 * The little of the DNS wire format (RFC 1035) cluster DNS needs: read a query's header and single
 * question, and write an answer with A records (behind a CNAME for an alias), an empty answer, or
 * an error code. Anything it
 * cannot read is a FORMERR (or dropped when even the header is short), never a crash.
 */

export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const CLASS_IN = 1;
export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4 } as const;

export interface Question {
  /** Lower case, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  question: Question;
  /** The question section's bytes, echoed in the answer. */
  questionBytes: Buffer;
}

export class DnsFormatError extends Error {}

/** The query in `msg`; throws DnsFormatError when it is not one query with one question. */
export function parseQuery(msg: Buffer): Query {
  if (msg.length < 12) throw new DnsFormatError('shorter than a DNS header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) throw new DnsFormatError('a response, not a query');
  if (msg.readUInt16BE(4) !== 1) throw new DnsFormatError('not exactly one question');
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const len = msg[at];
    if (len === undefined) throw new DnsFormatError('question name runs past the message');
    at += 1;
    if (len === 0) break;
    if (len > 63) throw new DnsFormatError('compressed or over-long label in the question');
    if (at + len > msg.length) throw new DnsFormatError('question label runs past the message');
    labels.push(
      msg
        .subarray(at, at + len)
        .toString('latin1')
        .toLowerCase(),
    );
    at += len;
    if (at - 12 > 255) throw new DnsFormatError('question name longer than 255 bytes');
  }
  if (at + 4 > msg.length) throw new DnsFormatError('question type and class missing');
  const question = { name: labels.join('.'), type: msg.readUInt16BE(at), class: msg.readUInt16BE(at + 2) };
  return { id, flags, question, questionBytes: msg.subarray(12, at + 4) };
}

export interface Answer {
  rcode: number;
  /** IPv4 addresses answering the question (A records; the alias's when `cname` is given). */
  addresses?: string[];
  /** The question's name is an alias of this one (a CNAME record first, then its A records). */
  cname?: string;
  /** Authoritative (names of the cluster domain). */
  authoritative?: boolean;
  ttl?: number;
}

/** The response to `q`. */
export function buildResponse(q: Pick<Query, 'id' | 'flags' | 'questionBytes'>, a: Answer): Buffer {
  const addresses = a.rcode === RCODE.noError ? (a.addresses ?? []) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  const opcode = q.flags & 0x7800;
  const rd = q.flags & 0x0100;
  header.writeUInt16BE(
    0x8000 | opcode | (a.authoritative === true ? 0x0400 : 0) | rd | 0x0080 | (a.rcode & 0xf),
    2,
  );
  header.writeUInt16BE(q.questionBytes.length > 0 ? 1 : 0, 4);
  const cname = a.cname === undefined ? [] : [cnameRecord(a.cname, a.ttl ?? 5)];
  header.writeUInt16BE(addresses.length + cname.length, 6);
  // The A records' owner: the question's name, or the alias target inside the CNAME's data.
  const owner = cname.length === 0 ? 0xc00c : 0xc000 | (12 + q.questionBytes.length + 12);
  const records = addresses.map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(owner, 0);
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(a.ttl ?? 5, 6);
    r.writeUInt16BE(4, 10);
    ip.split('.').forEach((octet, i) => r.writeUInt8(Number(octet), 12 + i));
    return r;
  });
  return Buffer.concat([header, q.questionBytes, ...cname, ...records]);
}

/** `name` as DNS labels, uncompressed. */
const encodeName = (name: string): Buffer =>
  Buffer.concat([
    ...name
      .split('.')
      .filter((l) => l !== '')
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);

/** A CNAME record for the question's name (a pointer to it) aliasing `target`. */
function cnameRecord(target: string, ttl: number): Buffer {
  const data = encodeName(target);
  const r = Buffer.alloc(12);
  r.writeUInt16BE(0xc00c, 0);
  r.writeUInt16BE(TYPE_CNAME, 2);
  r.writeUInt16BE(CLASS_IN, 4);
  r.writeUInt32BE(ttl, 6);
  r.writeUInt16BE(data.length, 10);
  return Buffer.concat([r, data]);
}

/** A query for `name` (clients and tests). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const labels = name.split('.').filter((l) => l !== '');
  const parts = labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  return Buffer.concat([header, ...parts, tail]);
}

/** The rcode, A addresses and first CNAME target of a response (clients and tests). */
export function readResponse(msg: Buffer): {
  id: number;
  rcode: number;
  addresses: string[];
  cname?: string;
} {
  if (msg.length < 12) throw new DnsFormatError('shorter than a DNS header');
  const id = msg.readUInt16BE(0);
  const rcode = msg.readUInt16BE(2) & 0xf;
  const answers = msg.readUInt16BE(6);
  let at = 12;
  for (let q = msg.readUInt16BE(4); q > 0; q--) at = skipName(msg, at) + 4;
  const addresses: string[] = [];
  let cname: string | undefined;
  for (let i = 0; i < answers; i++) {
    at = skipName(msg, at);
    const type = msg.readUInt16BE(at);
    const len = msg.readUInt16BE(at + 8);
    if (type === TYPE_A && len === 4) addresses.push([...msg.subarray(at + 10, at + 14)].join('.'));
    if (type === TYPE_CNAME && cname === undefined) cname = readName(msg, at + 10);
    at += 10 + len;
  }
  return { id, rcode, addresses, ...(cname !== undefined ? { cname } : {}) };
}

/** The name at `at`, following compression pointers (a bounded number of them). */
function readName(msg: Buffer, at: number): string {
  const labels: string[] = [];
  for (let hops = 0; hops < 160; hops++) {
    const len = msg[at];
    if (len === undefined) throw new DnsFormatError('name runs past the message');
    if (len === 0) return labels.join('.');
    if ((len & 0xc0) === 0xc0) {
      at = msg.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(msg.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += len + 1;
  }
  throw new DnsFormatError('a name with too many labels or pointers');
}

function skipName(msg: Buffer, at: number): number {
  for (;;) {
    const len = msg[at];
    if (len === undefined) throw new DnsFormatError('name runs past the message');
    if ((len & 0xc0) === 0xc0) return at + 2;
    if (len === 0) return at + 1;
    at += len + 1;
  }
}
