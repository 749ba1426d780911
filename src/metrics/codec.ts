/**
 * A compact encoding of one row of values for the history store. Each value is a varint whose two
 * low bits say what follows: an integer (zigzag), a number of thousandths (CPU seconds, times),
 * or, failing both, a float64. Byte and operation counters, the bulk of a VM's series, take 1–5
 * bytes instead of 8.
 */

const INT = 0;
const MILLI = 1;
const FLOAT = 2;
/** Integers up to this magnitude go the varint way: zigzag × 4 + tag stays a safe integer. */
const MAX_VARINT = 2 ** 49;

function pushVarint(out: number[], n: number): void {
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

export function encodeValues(values: readonly number[]): Buffer {
  const out: number[] = [];
  const floats: number[] = [];
  for (const v of values) {
    if (Number.isInteger(v) && Math.abs(v) < MAX_VARINT) {
      pushVarint(out, zigzag(v) * 4 + INT);
      continue;
    }
    const milli = Math.round(v * 1000);
    if (Number.isFinite(v) && Math.abs(milli) < MAX_VARINT && milli / 1000 === v) {
      pushVarint(out, zigzag(milli) * 4 + MILLI);
      continue;
    }
    out.push(FLOAT);
    floats.push(out.length);
    for (let i = 0; i < 8; i++) out.push(0);
  }
  const buf = Buffer.from(out);
  let f = 0;
  for (const v of values) {
    if (Number.isInteger(v) && Math.abs(v) < MAX_VARINT) continue;
    const milli = Math.round(v * 1000);
    if (Number.isFinite(v) && Math.abs(milli) < MAX_VARINT && milli / 1000 === v) continue;
    buf.writeDoubleLE(v, floats[f++] ?? 0);
  }
  return buf;
}

export function decodeValues(buf: Uint8Array): number[] {
  const out: number[] = [];
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  while (i < buf.length) {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = buf[i++] ?? 0;
      n += (b & 127) * scale;
      scale *= 128;
      if (b < 128) break;
    }
    const tag = n % 4;
    if (tag === FLOAT) {
      out.push(view.readDoubleLE(i));
      i += 8;
    } else {
      const v = unzigzag(Math.floor(n / 4));
      out.push(tag === MILLI ? v / 1000 : v);
    }
  }
  return out;
}
