/**
 * `hikube vm export NAME --output DIR [--format raw|gzip|qcow2] [--keep]`, as `virtctl vmexport
 * download` does it: creates a VirtualMachineExport of the VM, waits until it is Ready (the VM
 * must be stopped), downloads every volume and the VM's manifest with the export's token over the
 * link's own CA, checks each file's size against what the server announced (a gzip is read back
 * whole), and deletes the export unless --keep.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import {
  EXPORT_API_VERSION,
  EXPORT_TOKEN_HEADER,
  TOKEN_KEY,
  type ExportFormat,
  type VirtualMachineExport,
} from '../api/export/export.js';
import type { KubeClient } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

export const EXPORT_USAGE = `usage: hikube vm export NAME --output DIR [--format raw|gzip|qcow2] [--keep] [--ttl 2h] [--timeout 300]
  downloads a stopped VM's disks (DIR/VOLUME.img, .img.gz or .qcow2) and its manifest (DIR/manifest.yaml)`;

/** The formats the command downloads, and the file suffix of each. */
export const CLI_FORMATS: Readonly<Partial<Record<ExportFormat, string>>> = {
  raw: 'img',
  gzip: 'img.gz',
  qcow2: 'qcow2',
};

const exportsPath = (ns: string, name?: string): string =>
  `/apis/${EXPORT_API_VERSION}/namespaces/${encodeURIComponent(ns)}/virtualmachineexports${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

export async function runVmExport(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      output: { type: 'string' },
      format: { type: 'string', default: 'raw' },
      keep: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '2h' },
      timeout: { type: 'string', default: '300' },
    },
  });
  const [vm, extra] = positionals;
  const problems: string[] = [];
  if (vm === undefined) problems.push('vm export needs a NAME');
  if (extra !== undefined) problems.push(`unexpected argument ${JSON.stringify(extra)}`);
  if (values.output === undefined) problems.push('--output DIR is required');
  const format = values.format as ExportFormat;
  if (CLI_FORMATS[format] === undefined)
    problems.push(`--format ${JSON.stringify(values.format)}: one of ${Object.keys(CLI_FORMATS).join(', ')}`);
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) problems.push('--timeout is a number of seconds');
  if (problems.length > 0 || vm === undefined || values.output === undefined)
    throw new UsageError(`${problems.join('\n')}\n${EXPORT_USAGE}`);

  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const name = `${vm}-export-${randomBytes(3).toString('hex')}`;
  await c.call('POST', exportsPath(ns), {
    apiVersion: EXPORT_API_VERSION,
    kind: 'VirtualMachineExport',
    metadata: { name },
    spec: { source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: vm }, ttlDuration: values.ttl },
  });
  process.stderr.write(`virtualmachineexport.export.kubevirt.io/${name} created\n`);
  try {
    const e = await waitReady(c, ns, name, timeoutS);
    const token = await tokenOf(c, ns, e.status?.tokenSecretRef ?? '');
    const link = e.status?.links?.external;
    if (link === undefined) throw new Error(`export ${ns}/${name} is Ready without links`);
    await mkdir(values.output, { recursive: true });
    for (const v of link.volumes ?? []) {
      const url = v.formats?.find((f) => f.format === format)?.url;
      if (url === undefined) throw new Error(`export ${ns}/${name}: volume ${v.name} has no ${format} link`);
      const file = join(values.output, `${v.name}.${CLI_FORMATS[format] ?? 'img'}`);
      const size = await download(url, link.cert, token, file, v.name);
      process.stdout.write(`${file}\t${size} bytes${format === 'gzip' ? ' (uncompressed)' : ''}\n`);
    }
    const manifest = link.manifests?.find((m) => m.type === 'all')?.url;
    if (manifest !== undefined) {
      const file = join(values.output, 'manifest.yaml');
      await writeFile(file, await fetchText(manifest, link.cert, token));
      process.stdout.write(`${file}\n`);
    }
  } finally {
    if (!values.keep) await c.call('DELETE', exportsPath(ns, name)).catch(() => undefined);
  }
}

async function waitReady(
  c: KubeClient,
  ns: string,
  name: string,
  timeoutS: number,
): Promise<VirtualMachineExport> {
  const deadline = Date.now() + timeoutS * 1000;
  let said = '';
  for (;;) {
    const { value: e } = await c.call<VirtualMachineExport>('GET', exportsPath(ns, name));
    if (e.status?.phase === 'Ready') return e;
    const why = e.status?.conditions?.find((x) => x.type === 'Ready');
    if (e.status?.phase === 'Skipped') throw new Error(`export ${ns}/${name} skipped: ${why?.message ?? ''}`);
    const line = `${e.status?.phase ?? 'Pending'}: ${why?.reason ?? ''} ${why?.message ?? ''}`.trim();
    if (line !== said) process.stderr.write(`${line}\n`);
    said = line;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutS}s waiting for export ${ns}/${name} to be Ready (${line})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function tokenOf(c: KubeClient, ns: string, secret: string): Promise<string> {
  const { value } = await c.call<{ data?: Record<string, string> }>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(secret)}`,
  );
  return Buffer.from(value.data?.[TOKEN_KEY] ?? '', 'base64').toString('utf8');
}

function open(url: string, ca: string, token: string): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { [EXPORT_TOKEN_HEADER]: token } }, (res) => {
      if (res.statusCode === 200) return resolve(res);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(new Error(`GET ${url}: ${res.statusCode ?? 0} ${body.slice(0, 300)}`)));
    });
    req.on('error', reject);
    req.end();
  });
}

const fetchText = async (url: string, ca: string, token: string): Promise<string> => {
  const res = await open(url, ca, token);
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return text;
};

/** Downloads into `file` with progress on stderr; returns the disk's size, checked. */
async function download(
  url: string,
  ca: string,
  token: string,
  file: string,
  label: string,
): Promise<number> {
  const res = await open(url, ca, token);
  const announced = Number(res.headers['content-length'] ?? NaN);
  let received = 0;
  let shown = 0;
  res.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received - shown >= 16 * 1024 * 1024) {
      shown = received;
      process.stderr.write(`${label}: ${Math.round(received / 1048576)} MiB\n`);
    }
  });
  await pipeline(res, createWriteStream(file));
  const size = (await stat(file)).size;
  if (Number.isFinite(announced) && (size !== announced || received !== announced))
    throw new Error(`${file}: received ${size} bytes, the server announced ${announced}`);
  if (!file.endsWith('.gz')) return size;
  // A gzip has no announced length: read it back whole, which also proves it is complete.
  let unpacked = 0;
  await pipeline(
    createReadStream(file),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        unpacked += chunk.length;
        done();
      },
    }),
  );
  return unpacked;
}
