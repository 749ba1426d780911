/**
 * Writes the tar framing of one regular file (ustar), enough for KubeVirt's `tar.gz` export
 * format: a 512-byte header, the data, zero padding to a block, two zero blocks. Sizes past what
 * 11 octal digits hold (8 GiB) use the base-256 form GNU tar and every modern reader accept.
 */
const BLOCK = 512;

function putString(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value.slice(0, length), offset, length, 'ascii');
}

function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  putString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function putSize(header: Buffer, size: number): void {
  if (size < 8 ** 11) return putOctal(header, 124, 12, size);
  // Base-256: the first byte's top bit set, the value big-endian in the rest of the field.
  header[124] = 0x80;
  let rest = BigInt(size);
  for (let i = 135; i > 124; i--) {
    header[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

export function tarHeader(name: string, size: number, mtime: Date): Buffer {
  if (name.length > 100 || /[^\x20-\x7e]/.test(name))
    throw new Error(`tar member name ${JSON.stringify(name)} is not a short ASCII name`);
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, 0o644);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putSize(h, size);
  putOctal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  h.write('0', 156, 1, 'ascii');
  putString(h, 257, 6, 'ustar\0');
  putString(h, 263, 2, '00');
  let sum = 0;
  for (const byte of h) sum += byte;
  putString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Zeros that round `size` up to a whole block. */
export const tarPadding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The end-of-archive marker: two zero blocks. */
export const tarEnd = (): Buffer => Buffer.alloc(2 * BLOCK);
