/**
 * Export downloads in the platform's audit log (DATA_DIR/audit.log), against a real platform: an
 * export of a blank DataVolume's claim is downloaded with its token, and the log gets one event
 * naming the token (by fingerprint, never the token itself), the export, its source, the volume,
 * the format, the bytes sent and the result; a request without the token (401) and one with a
 * wrong token (403) are recorded as refused, the wrong token by its own fingerprint; a download
 * the client abandons is recorded as cut short, with the bytes sent until then.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/apiserver/auth/audit.js';
import { tokenFingerprint } from '../../src/storage/export/audit.js';
import { kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let ca: string;

before(async () => {
  p = await startTestPlatform();
  const kubeconfig = readFileSync(p.kubeconfigPath, 'utf8');
  ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1] ?? '', 'base64').toString(
    'utf8',
  );
});
after(() => p.cleanup());

const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);

/** GETs `url`, counting the body's bytes. */
function get(url: string, headers: Record<string, string>): Promise<{ code: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The export server's events in the audit log (none of the API's own lines). */
function downloads(): AuditEvent[] {
  const log = join(p.dataDir, 'audit.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.requestURI.startsWith('/exports/'));
}

/** A blank DataVolume of `size`, exported: its raw download URL, its token Secret and token. */
async function readyExport(
  name: string,
  size: string,
): Promise<{ raw: string; secret: string; token: string }> {
  await kubectl(
    ['create', '-f', '-'],
    `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${name}}\nspec:\n  source: {blank: {}}\n  storage: {resources: {requests: {storage: ${size}}}}\n`,
  );
  await eventually(
    async () => (await kubectl(['get', 'dv', name, '-o', 'jsonpath={.status.phase}'])) === 'Succeeded',
    `DataVolume ${name} Succeeded`,
    60_000,
    200,
  );
  const exportName = `ex-${name}`;
  await kubectl(
    ['create', '-f', '-'],
    `apiVersion: export.kubevirt.io/v1\nkind: VirtualMachineExport\nmetadata: {name: ${exportName}}\nspec:\n  source: {apiGroup: "", kind: PersistentVolumeClaim, name: ${name}}\n`,
  );
  const url = await eventually(
    async () => {
      const e = JSON.parse(await kubectl(['get', 'vmexport', exportName, '-o', 'json'])) as {
        status?: {
          phase?: string;
          tokenSecretRef?: string;
          links?: { external?: { volumes?: { formats?: { format: string; url: string }[] }[] } };
        };
      };
      const raw = e.status?.links?.external?.volumes?.[0]?.formats?.find((f) => f.format === 'raw');
      return e.status?.phase === 'Ready' && raw !== undefined
        ? { raw: raw.url, secret: e.status.tokenSecretRef ?? '' }
        : undefined;
    },
    `export ${exportName} Ready`,
    60_000,
    200,
  );
  const secret = JSON.parse(await kubectl(['get', 'secret', url.secret, '-o', 'json'])) as {
    data?: { token?: string };
  };
  const token = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8');
  assert.notEqual(token, '');
  return { ...url, token };
}

/** GETs `url` and, at the first bytes of the body, closes the connection. */
function getCutShort(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, headers }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

describe('export downloads are audited', () => {
  test('a download, a missing token and a wrong one each leave an event', async () => {
    const url = await readyExport('audited', '8Mi');
    const token = url.token;
    const ok = await get(url.raw, { 'x-kubevirt-export-token': token });
    assert.equal(ok.code, 200);
    assert.equal(ok.bytes, 8 * 2 ** 20);
    assert.equal((await get(url.raw, {})).code, 401);
    assert.equal((await get(url.raw, { 'x-kubevirt-export-token': 'guessed' })).code, 403);

    const events = await eventually(
      () => {
        const e = downloads();
        return e.length >= 3 ? e : undefined;
      },
      'three export events in the audit log',
      10_000,
      100,
    );
    // Each is recorded once answered and its handler done: the order in the file may differ.
    const by = (code: number): AuditEvent | undefined => events.find((e) => e.responseStatus.code === code);
    const [served, missing, wrong] = [by(200), by(401), by(403)];
    assert.ok(served !== undefined && missing !== undefined && wrong !== undefined);
    const path = new URL(url.raw).pathname;
    assert.equal(served.requestURI, path);
    assert.equal(served.verb, 'get');
    assert.equal(served.user.username, 'system:export-token:default:ex-audited');
    assert.deepEqual(served.objectRef, {
      resource: 'virtualmachineexports',
      namespace: 'default',
      name: 'ex-audited',
      apiGroup: 'export.kubevirt.io',
      apiVersion: 'v1',
    });
    assert.equal(served.responseStatus.code, 200);
    assert.deepEqual(served.annotations, {
      'authorization.k8s.io/decision': 'allow',
      'export.hikube.io/result': 'complete',
      'export.hikube.io/bytes': String(8 * 2 ** 20),
      'export.hikube.io/token-sha256': tokenFingerprint(token),
      'export.hikube.io/token-secret': url.secret,
      'export.hikube.io/source': 'PersistentVolumeClaim/audited',
      'export.hikube.io/volume': 'audited',
      'export.hikube.io/format': 'raw',
    });
    const line = readFileSync(join(p.dataDir, 'audit.log'), 'utf8');
    assert.ok(!line.includes(token), 'the token itself is never logged');

    assert.equal(missing.responseStatus.code, 401);
    assert.equal(missing.user.username, 'system:anonymous');
    assert.equal(missing.annotations?.['export.hikube.io/result'], 'refused');
    assert.equal(missing.annotations?.['export.hikube.io/token-sha256'], undefined);
    assert.equal(wrong.responseStatus.code, 403);
    assert.equal(wrong.annotations?.['authorization.k8s.io/decision'], 'forbid');
    assert.equal(wrong.annotations?.['export.hikube.io/token-sha256'], tokenFingerprint('guessed'));
    assert.equal(wrong.annotations?.['export.hikube.io/bytes'], '0');
  });

  test('a download the client cuts short is recorded as cut short, with the bytes sent before', async () => {
    // 256 MiB (sparse): far more than the socket buffers hold, so the server is still sending.
    const url = await readyExport('cut', '256Mi');
    assert.equal(await getCutShort(url.raw, { 'x-kubevirt-export-token': url.token }), 200);
    const path = new URL(url.raw).pathname;
    const event = await eventually(
      () => downloads().find((e) => e.requestURI === path),
      'the cut-short download in the audit log',
      30_000,
      100,
    );
    assert.equal(event.responseStatus.code, 200);
    assert.equal(event.user.username, 'system:export-token:default:ex-cut');
    assert.equal(event.annotations?.['export.hikube.io/result'], 'cut short');
    const bytes = Number(event.annotations?.['export.hikube.io/bytes']);
    assert.ok(bytes > 0 && bytes < 256 * 2 ** 20, `bytes sent: ${bytes}`);
  });
});
