/**
 * A small encoder of the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) for core kinds,
 * the way kubectl sends ConfigMaps and Secrets: for tests of the server's decoder.
 */

const varint = (n: number): Buffer => {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
};

/** A length-delimited field (wire type 2). */
export const field = (number: number, bytes: Buffer | string): Buffer => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return Buffer.concat([varint(number * 8 + 2), varint(b.length), b]);
};

/** A map<string,string> entry as field `number`. */
export const mapEntry = (number: number, key: string, value: string): Buffer =>
  field(number, Buffer.concat([field(1, key), field(2, value)]));

/** A core/v1 ConfigMap named `name` holding `data`, in the envelope kubectl sends. */
export function configMapProto(name: string, data: Record<string, string>): Buffer {
  const metadata = field(1, field(1, name));
  const entries = Object.entries(data).map(([k, v]) => mapEntry(2, k, v));
  const raw = Buffer.concat([metadata, ...entries]);
  const typeMeta = Buffer.concat([field(1, 'v1'), field(2, 'ConfigMap')]);
  return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), field(1, typeMeta), field(2, raw)]);
}
