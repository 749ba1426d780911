/**
 * The file field of a multipart/form-data body, as CDI's upload-form takes it: found behind other
 * fields, streamed intact however the body is cut into chunks (a boundary split across two chunks
 * included), and refused when the body is not a form or has no `file` field.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { formBoundary, formFile, FormError } from '../../../src/storage/multipart.js';

const BOUNDARY = '----hikubeFormBoundary7MA4YWxkTrZu0gW';
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

function form(parts: { name: string; filename?: string; data: Buffer }[]): Buffer {
  const out: Buffer[] = [Buffer.from('preamble, ignored\r\n')];
  for (const p of parts) {
    const file = p.filename !== undefined ? `; filename="${p.filename}"` : '';
    out.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"${file}\r\n` +
          (p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '') +
          '\r\n',
      ),
      p.data,
      Buffer.from('\r\n'),
    );
  }
  out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

/** The body as a socket would deliver it: `size` bytes at a time, each on a later tick. */
async function* chunks(body: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < body.length; i += size) {
    await Promise.resolve();
    yield body.subarray(i, i + size);
  }
}

async function read(body: Buffer, size: number, type = TYPE): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of await formFile(chunks(body, size), type)) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('formBoundary', () => {
  const cases: [string | undefined, string | undefined][] = [
    [TYPE, BOUNDARY],
    ['Multipart/Form-Data; charset=utf-8; boundary="a b"', 'a b'],
    ['application/octet-stream', undefined],
    ['multipart/form-data', undefined],
    [`multipart/form-data; boundary=${'x'.repeat(71)}`, undefined],
    [undefined, undefined],
  ];
  for (const [type, want] of cases) test(String(type), () => assert.equal(formBoundary(type), want));
});

describe('formFile', () => {
  // Data that contains the boundary's prefix and CRLFs, so a naive split would cut it short.
  const data = Buffer.concat([
    randomBytes(70_000),
    Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}\r\n`),
    randomBytes(999),
  ]);
  const body = form([
    { name: 'note', data: Buffer.from('an ordinary field') },
    { name: 'file', filename: 'disk.qcow2', data },
    { name: 'after', data: Buffer.from('ignored') },
  ]);
  for (const size of [1, 7, 64, 4096, body.length])
    test(`chunks of ${size} bytes`, async () => assert.ok((await read(body, size)).equals(data)));

  test('an empty file is an empty stream', async () => {
    assert.equal((await read(form([{ name: 'file', filename: 'e', data: Buffer.alloc(0) }]), 3)).length, 0);
  });

  test('refusals', async () => {
    await assert.rejects(read(body, 64, 'application/octet-stream'), FormError);
    await assert.rejects(read(form([{ name: 'image', data: data }]), 64), /form has no field "file"/);
    await assert.rejects(read(body.subarray(0, 5000), 64), /cut short/);
    await assert.rejects(read(Buffer.from('no boundary at all'), 4), /form has no field "file"/);
  });
});
