/**
 * CDI's upload flow as its clients (virtctl image-upload) drive it, against a real platform: a
 * DataVolume with an upload source waits in UploadReady; an UploadTokenRequest created with kubectl
 * answers with a token; the image is POSTed with `Authorization: Bearer TOKEN` to CDIConfig's
 * `status.uploadProxyURL` at `/v1beta1/upload-async` (and `/v1beta1/upload`), lands in the
 * DataVolume, and is inspected like every image (a zip archive is refused). Without a token, or
 * with a wrong one, the proxy answers 401. A browser form's upload (`/v1beta1/upload-form`, the
 * image as the multipart field `file`) is sent by curl -F, a real multipart/form-data body.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';
import { makeImages, type Images } from '../unit/storage/image-server.js';

let p: TestPlatform;
let fixtures: Images;
let ca: string;

before(async () => {
  p = await startTestPlatform();
  fixtures = makeImages(await mkdtemp(join(tmpdir(), 'hikube-upload-token-')));
  const kubeconfig = readFileSync(p.kubeconfigPath, 'utf8');
  const data = /certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1] ?? '';
  ca = Buffer.from(data, 'base64').toString('utf8');
  writeFileSync(join(fixtures.dir, 'ca.pem'), ca);
});
after(async () => {
  await p.cleanup();
  await rm(fixtures.dir, { recursive: true, force: true });
});

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** POSTs a file as virtctl does: the raw image, octet-stream, the token as a bearer. */
function post(url: string, file: string, token: string | undefined): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(statSync(file).size),
          ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** POSTs a form as a browser (or `curl -F`) does: multipart/form-data with the image as `file`. */
async function postForm(
  url: string,
  fields: string[],
  token: string,
): Promise<{ code: number; body: string }> {
  const out = join(fixtures.dir, `answer-${Math.random().toString(36).slice(2)}`);
  const { stdout } = await promisify(execFile)('curl', [
    '-sS',
    '--cacert',
    join(fixtures.dir, 'ca.pem'),
    '-o',
    out,
    '-w',
    '%{http_code}',
    '-H',
    `Authorization: Bearer ${token}`,
    ...fields.flatMap((f) => ['-F', f]),
    url,
  ]);
  return { code: Number(stdout), body: readFileSync(out, 'utf8') };
}

async function uploadReady(name: string): Promise<void> {
  await kubectl(
    ['create', '-f', '-'],
    `apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: ${name}}
spec:
  source: {upload: {}}
  storage: {resources: {requests: {storage: 64Mi}}}
`,
  );
  await eventually(
    async () => (await kubectl(['get', 'dv', name, '-o', 'jsonpath={.status.phase}'])) === 'UploadReady',
    `DataVolume ${name} to be UploadReady`,
    30_000,
    200,
  );
}

async function tokenFor(pvc: string): Promise<string> {
  const made = JSON.parse(
    await kubectl(
      ['create', '-o', 'json', '-f', '-'],
      `apiVersion: upload.cdi.kubevirt.io/v1beta1
kind: UploadTokenRequest
metadata: {name: token-${pvc}}
spec: {pvcName: ${pvc}}
`,
    ),
  ) as { status?: { token?: string } };
  const token = made.status?.token;
  assert.ok(token !== undefined && token.length >= 32, 'the create answer carries the token');
  return token;
}

describe('UploadTokenRequest and the upload proxy', () => {
  test(
    'a token from UploadTokenRequest uploads into the DataVolume at uploadProxyURL',
    { timeout: 120_000 },
    async () => {
      const proxy = await eventually(
        async () =>
          (await kubectl(['get', 'cdiconfig', 'config', '-o', 'jsonpath={.status.uploadProxyURL}'])) ||
          undefined,
        'CDIConfig to publish uploadProxyURL',
      );
      await uploadReady('up-async');
      const token = await tokenFor('up-async');

      const none = await post(`${proxy}/v1beta1/upload-async`, join(fixtures.dir, 'disk.qcow2'), undefined);
      assert.equal(none.code, 401);
      const wrong = await post(
        `${proxy}/v1beta1/upload-async`,
        join(fixtures.dir, 'disk.qcow2'),
        `${token}x`,
      );
      assert.equal(wrong.code, 401);
      assert.match(wrong.body, /upload token missing, unknown or expired/);
      assert.equal(
        await kubectl(['get', 'dv', 'up-async', '-o', 'jsonpath={.status.phase}']),
        'UploadReady',
        'nothing landed',
      );

      const sent = await post(`${proxy}/v1beta1/upload-async`, join(fixtures.dir, 'disk.qcow2'), token);
      assert.equal(sent.code, 200, sent.body);
      await eventually(
        async () =>
          (await kubectl(['get', 'dv', 'up-async', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded',
        'the upload to land',
        30_000,
        200,
      );

      // The synchronous path, and the inspection every image goes through.
      await uploadReady('up-zip');
      const refused = await post(
        `${proxy}/v1beta1/upload`,
        join(fixtures.dir, 'archive.zip'),
        await tokenFor('up-zip'),
      );
      assert.equal(refused.code, 400, refused.body);
      assert.match(refused.body, /not a disk image/);
    },
  );

  test(
    'a form upload (upload-form, field file) lands the image, inspected as every image',
    { timeout: 120_000 },
    async () => {
      const proxy = await kubectl(['get', 'cdiconfig', 'config', '-o', 'jsonpath={.status.uploadProxyURL}']);
      await uploadReady('up-form');
      const disk = join(fixtures.dir, 'disk.qcow2');
      const token = await tokenFor('up-form');
      const missing = await postForm(`${proxy}/v1beta1/upload-form`, [`image=@${disk}`], token);
      assert.equal(missing.code, 400, missing.body);
      assert.match(missing.body, /form has no field \\"file\\"/);
      const sent = await postForm(
        `${proxy}/v1beta1/upload-form-async`,
        ['note=from a browser', `file=@${disk};type=application/octet-stream`],
        token,
      );
      assert.equal(sent.code, 200, sent.body);
      assert.equal((JSON.parse(sent.body) as { received?: number }).received, statSync(disk).size);
      await eventually(
        async () =>
          (await kubectl(['get', 'dv', 'up-form', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded',
        'the form upload to land',
        30_000,
        200,
      );
      await uploadReady('up-form-zip');
      const refused = await postForm(
        `${proxy}/v1beta1/upload-form`,
        [`file=@${join(fixtures.dir, 'archive.zip')}`],
        await tokenFor('up-form-zip'),
      );
      assert.equal(refused.code, 400, refused.body);
      assert.match(refused.body, /not a disk image/);
    },
  );
});
