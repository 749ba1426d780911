/**
 * VirtualMachineExport against a real platform and a real guest (hikube/tiny under QEMU): an
 * export of a running VM waits (Pending, InUse); once the VM stops it is Ready with KubeVirt's
 * links, and its disk downloads as raw, gzip, tar.gz and qcow2 (the same bytes each way, checked
 * with gunzip, tar and qemu-img). The raw disk uploaded into a new DataVolume boots under another
 * VM that reads what the first guest wrote. Without the token: 401; with a wrong one: 403. An
 * export past its ttlDuration is deleted with its generated token Secret. Bad specs: 422, one
 * cause per field.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { boot as bootOn, gone as goneOn, read, sh, tinyOnClaim, write } from '../support/disk-guest.js';
import { hikubeOk, kubectlOk, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { eventually } from '../support/wait.js';

let p: TestPlatform;
let dir: string;
let ca: string;

before(async () => {
  p = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'hikube-export-'));
  const kubeconfig = readFileSync(p.kubeconfigPath, 'utf8');
  ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1] ?? '', 'base64').toString(
    'utf8',
  );
});
after(async () => {
  await p.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Room for a 64 MiB disk on a child's stdout. */
const BIG = { maxBuffer: 128 * 1024 * 1024 };
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(p, args, input);
const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

interface Export {
  status?: {
    phase?: string;
    tokenSecretRef?: string;
    ttlExpirationTime?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    links?: {
      external?: {
        cert: string;
        volumes?: { name: string; formats?: { format: string; url: string }[] }[];
        manifests?: { type: string; url: string }[];
      };
    };
  };
}

/** GETs `url` into `file` (or a string when no file), with the token as a header when given. */
function get(
  url: string,
  headers: Record<string, string>,
  file?: string,
): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, headers }, (res) => {
      const code = res.statusCode ?? 0;
      if (file !== undefined && code === 200) {
        pipeline(res, createWriteStream(file)).then(() => resolve({ code, body: '' }), reject);
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ code, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const exportOf = (name: string, source: string, kind = 'VirtualMachine', extra = ''): string => {
  const group = kind === 'VirtualMachine' ? 'kubevirt.io' : '""';
  return `apiVersion: export.kubevirt.io/v1\nkind: VirtualMachineExport\nmetadata: {name: ${name}}\nspec:\n  source: {apiGroup: ${group}, kind: ${kind}, name: ${source}}\n${extra}`;
};

async function tokenOf(secret: string): Promise<string> {
  const s = await json<{ data?: { token?: string } }>(['get', 'secret', secret]);
  return Buffer.from(s.data?.token ?? '', 'base64').toString('utf8');
}

async function uploadInto(dv: string, file: string): Promise<void> {
  await kubectl(
    ['create', '-f', '-'],
    `apiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\nmetadata: {name: ${dv}}\nspec:\n  source: {upload: {}}\n  storage: {resources: {requests: {storage: 64Mi}}}\n`,
  );
  await eventually(
    async () => (await kubectl(['get', 'dv', dv, '-o', 'jsonpath={.status.phase}'])) === 'UploadReady',
    `DataVolume ${dv} UploadReady`,
    30_000,
    200,
  );
  const made = JSON.parse(
    await kubectl(
      ['create', '-o', 'json', '-f', '-'],
      `apiVersion: upload.cdi.kubevirt.io/v1beta1\nkind: UploadTokenRequest\nmetadata: {name: token-${dv}}\nspec: {pvcName: ${dv}}\n`,
    ),
  ) as { status?: { token?: string } };
  const code = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${p.url}/v1beta1/upload`,
      {
        method: 'POST',
        ca,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(statSync(file).size),
          Authorization: `Bearer ${made.status?.token ?? ''}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
  assert.equal(code, 200);
  await eventually(
    async () => (await kubectl(['get', 'dv', dv, '-o', 'jsonpath={.status.phase}'])) === 'Succeeded',
    `upload into ${dv}`,
    60_000,
    200,
  );
}

describe('VirtualMachineExport', () => {
  test('a stopped VM exports raw, gzip, tar.gz and qcow2; the disk re-imported boots elsewhere', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 64Mi}}\n`,
    );
    await kubectl(['apply', '-f', '-'], tinyOnClaim('src', 'data'));
    const c = await bootOn(p, 'src');
    await sh(c, write('exported-marker'));
    c.close();

    // Running: the export waits, as KubeVirt's, with reason InUse.
    await kubectl(['create', '-f', '-'], exportOf('ex1', 'src', 'VirtualMachine', '  ttlDuration: 30m\n'));
    const waiting = await eventually(async () => {
      const e = await json<Export>(['get', 'vmexport', 'ex1']);
      return e.status?.phase === 'Pending' ? e : undefined;
    }, 'ex1 Pending');
    assert.equal(waiting.status?.conditions?.find((x) => x.type === 'Ready')?.reason, 'InUse');

    await hikubeOk(p, ['stop', 'src']);
    await goneOn(p, 'vmi', 'src');
    const ready = await eventually(
      async () => {
        const e = await json<Export>(['get', 'vmexport', 'ex1']);
        return e.status?.phase === 'Ready' ? e : undefined;
      },
      'ex1 Ready',
      30_000,
      100,
    );
    const link = ready.status?.links?.external;
    assert.equal(link?.cert, ca, 'the link carries the CA of the download server');
    const formats = new Map(
      (link?.volumes?.find((v) => v.name === 'data')?.formats ?? []).map((f) => [f.format, f.url]),
    );
    assert.deepEqual([...formats.keys()].sort(), ['dir', 'gzip', 'qcow2', 'raw', 'tar.gz']);
    const token = await tokenOf(ready.status?.tokenSecretRef ?? '');
    assert.ok(token.length >= 32);
    const raw = formats.get('raw') ?? '';

    const none = await get(raw, {});
    assert.equal(none.code, 401, none.body);
    const wrong = await get(raw, { 'x-kubevirt-export-token': `${token}x` });
    assert.equal(wrong.code, 403, wrong.body);
    const otherExport = await get(raw.replace('/ex1/', '/nope/'), { 'x-kubevirt-export-token': token });
    assert.equal(otherExport.code, 403, 'an unknown export is answered as a wrong token');

    const header = { 'x-kubevirt-export-token': token };
    const files = {
      raw: join(dir, 'disk.img'),
      gzip: join(dir, 'disk.img.gz'),
      tar: join(dir, 'disk.tar.gz'),
      qcow2: join(dir, 'disk.qcow2'),
    };
    assert.equal((await get(raw, header, files.raw)).code, 200);
    assert.equal(statSync(files.raw).size, 64 * 1024 * 1024, 'the raw disk is the claim size');
    // The token as KubeVirt's query parameter works as well as the header.
    const gz = `${formats.get('gzip') ?? ''}?x-kubevirt-export-token=${encodeURIComponent(token)}`;
    assert.equal((await get(gz, {}, files.gzip)).code, 200);
    assert.equal((await get(formats.get('tar.gz') ?? '', header, files.tar)).code, 200);
    assert.equal((await get(formats.get('qcow2') ?? '', header, files.qcow2)).code, 200);
    const rawBytes = readFileSync(files.raw);
    assert.ok(rawBytes.includes('exported-marker'), 'the raw disk holds what the guest wrote');
    assert.ok(
      execFileSync('gzip', ['-dc', files.gzip], BIG).equals(rawBytes),
      'gzip is the raw disk gzipped',
    );
    assert.equal(execFileSync('tar', ['-tzf', files.tar], { encoding: 'utf8' }), 'disk.img\n');
    assert.ok(
      execFileSync('tar', ['-xzOf', files.tar, 'disk.img'], BIG).equals(rawBytes),
      'tar.gz holds the raw disk',
    );
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', files.qcow2], { encoding: 'utf8' }),
    ) as {
      format: string;
      'backing-filename'?: string;
    };
    assert.equal(info.format, 'qcow2');
    assert.equal(info['backing-filename'], undefined, 'the qcow2 stands alone');
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', files.raw, files.qcow2]);
    const listing = await get(formats.get('dir') ?? '', header);
    assert.match(listing.body, /disk\.img/);

    const manifest = await get(link?.manifests?.find((m) => m.type === 'all')?.url ?? '', header);
    assert.equal(manifest.code, 200, manifest.body);
    assert.match(manifest.body, /kind: VirtualMachine/);
    assert.match(manifest.body, /secretExtraHeaders/);

    // The raw disk, uploaded elsewhere, boots under a new VM that reads the first guest's write.
    await uploadInto('copy', files.raw);
    await kubectl(['apply', '-f', '-'], tinyOnClaim('dst', 'copy'));
    const d = await bootOn(p, 'dst');
    assert.equal(await sh(d, read), 'exported-marker');
    d.close();
    await kubectl(['delete', 'vm', 'dst', '--wait=false']);

    // A started VM takes its export back to Pending; downloads are refused meanwhile.
    await hikubeOk(p, ['start', 'src']);
    await eventually(
      async () => (await json<Export>(['get', 'vmexport', 'ex1'])).status?.phase === 'Pending',
      'ex1 back to Pending',
      30_000,
      100,
    );
    assert.equal((await get(raw, header)).code, 409);
    await hikubeOk(p, ['stop', 'src']);
    await goneOn(p, 'vmi', 'src');

    // The CLI: an export of its own, every volume and the manifest downloaded, then deleted.
    const out = join(dir, 'cli');
    const printed = await hikubeOk(p, ['vm', 'export', 'src', '--output', out, '--format', 'gzip']);
    assert.match(printed, new RegExp(`${join(out, 'data.img.gz')}\\t67108864 bytes \\(uncompressed\\)`));
    assert.match(printed, /manifest\.yaml/);
    assert.ok(execFileSync('gzip', ['-dc', join(out, 'data.img.gz')], BIG).includes('exported-marker'));
    assert.match(readFileSync(join(out, 'manifest.yaml'), 'utf8'), /kind: VirtualMachine/);
    await eventually(
      async () =>
        (await kubectl(['get', 'vmexport', '-o', 'name'])).trim() ===
        'virtualmachineexport.export.kubevirt.io/ex1',
      'the CLI export deleted, ex1 left',
      30_000,
      200,
    );
    const refused = await p.hikube(['vm', 'export', 'src', '--format', 'vmdk']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr + refused.stdout, /--output DIR is required/);
    assert.match(refused.stderr + refused.stdout, /--format "vmdk"/);
  });

  test('an export past its ttlDuration is deleted with its token Secret', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: short}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 16Mi}}\n`,
    );
    await kubectl(
      ['create', '-f', '-'],
      exportOf('brief', 'short', 'PersistentVolumeClaim', '  ttlDuration: 4s\n'),
    );
    const e = await eventually(
      async () => {
        const x = await json<Export>(['get', 'vmexport', 'brief']);
        return x.status?.phase === 'Ready' ? x : undefined;
      },
      'brief Ready',
      30_000,
      100,
    );
    assert.ok(e.status?.ttlExpirationTime !== undefined);
    const secret = e.status?.tokenSecretRef ?? '';
    assert.equal(secret, 'export-token-brief');
    await goneOn(p, 'vmexport', 'brief');
    await goneOn(p, 'secret', secret);
  });

  test('a bad spec is refused with one cause per field', async () => {
    const r = await p.kubectl(
      ['create', '-f', '-'],
      `apiVersion: export.kubevirt.io/v1beta1\nkind: VirtualMachineExport\nmetadata: {name: bad}\nspec:\n  source: {apiGroup: apps, kind: Pod, name: x}\n  tokenSecretRef: "Not_A_Name"\n  ttlDuration: soon\n`,
    );
    assert.notEqual(r.code, 0);
    for (const field of ['spec.source.kind', 'spec.tokenSecretRef', 'spec.ttlDuration'])
      assert.ok(r.stderr.includes(field), `${field} is named: ${r.stderr}`);
  });
});
