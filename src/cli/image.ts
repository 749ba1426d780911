/**
 * `hikube image import NAME FILE` streams a disk image into the node's image store (with a
 * progress line); `hikube image import NAME --from IMAGE` gives an existing image another name.
 * `hikube image upload dv NAME --image-path FILE [--size SIZE]` is virtctl's image-upload: it
 * creates a DataVolume with an upload source, waits for UploadReady, and streams the file to the
 * upload endpoint with progress.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import type { Status } from '../api/meta.js';
import { parseQuantity, formatBytes } from '../api/quantity.js';
import { KubeApiError, type KubeClient } from '../client/kube.js';
import { uploadPath } from '../storage/upload.js';
import { importUpstream, importUrl, listImages } from './image-catalog.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

const base = (name: string): string => `/apis/images.hikube.io/v1alpha1/images/${encodeURIComponent(name)}`;

export const dvPath = (namespace: string, name?: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/datavolumes${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** The sub-verb (`import`, `upload`) and the other arguments, global flags moved before it kept. */
export function subVerb(args: string[]): [string | undefined, string[]] {
  const withValue = new Set(['--kubeconfig', '--data-dir', '-n', '--namespace']);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (withValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return [arg, [...args.slice(0, i), ...args.slice(i + 1)]];
  }
  return [undefined, args];
}

export async function runImage(args: string[]): Promise<void> {
  const [verb, rest] = subVerb(args);
  if (verb === 'upload') return runUpload(rest);
  if (verb === 'list' || verb === 'ls') return listImages(rest);
  if (verb !== 'import')
    throw new UsageError(
      'usage: hikube image list | hikube image import NAME [FILE|URL] | hikube image import NAME --from IMAGE | hikube image upload dv NAME --image-path FILE',
    );
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...connectionOptions, from: { type: 'string' }, size: { type: 'string', default: '10Gi' } },
  });
  const [name, file] = positionals;
  if (name === undefined || (file !== undefined && values.from !== undefined)) {
    throw new UsageError(
      'image import needs NAME and FILE, URL or --from IMAGE (or nothing, for a catalog OS)',
    );
  }
  if (parseQuantity(values.size) === undefined)
    throw new UsageError(`--size ${JSON.stringify(values.size)} is not a quantity such as 10Gi`);
  const c = loadClient(values);
  if (file === undefined && values.from === undefined) {
    process.stdout.write(await importUpstream(c, name, values.size));
    return;
  }
  if (file !== undefined && /^(https?|docker):\/\//.test(file)) return importUrl(c, name, file, values.size);
  if (values.from !== undefined) {
    await c.call('PUT', `${base(name)}/alias`, { from: values.from });
    process.stdout.write(`image ${name} now names ${values.from}\n`);
    return;
  }
  const size = statSync(file ?? '').size;
  await putFile(c, `${base(name)}/upload`, file ?? '', `uploading ${name}`);
  process.stdout.write(`image ${name} imported (${size} bytes)\n`);
}

async function runUpload(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      'image-path': { type: 'string' },
      size: { type: 'string' },
      'storage-class': { type: 'string' },
      'access-mode': { type: 'string' },
      'volume-mode': { type: 'string' },
      'no-create': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '300' },
    },
  });
  // virtctl's form `upload dv NAME --image-path FILE`, or the short `upload NAME FILE`.
  const [first, second, third] = positionals;
  const name = first === 'dv' ? second : first;
  const file = values['image-path'] ?? (first === 'dv' ? third : second);
  if (name === undefined || file === undefined)
    throw new UsageError(
      'image upload needs a name and a file: hikube image upload dv NAME --image-path FILE [--size 10Gi]',
    );
  const c = loadClient(values);
  const namespace = values.namespace ?? c.namespace;
  await uploadDisk(c, namespace, name, file, {
    create: !values['no-create'],
    ...(values.size !== undefined ? { size: values.size } : {}),
    ...(values['storage-class'] !== undefined ? { storageClass: values['storage-class'] } : {}),
    ...(values['access-mode'] !== undefined ? { accessMode: values['access-mode'] } : {}),
    ...(values['volume-mode'] !== undefined ? { volumeMode: values['volume-mode'] } : {}),
    timeoutS: Number(values.timeout),
  });
}

export interface UploadOptions {
  create: boolean;
  size?: string;
  storageClass?: string;
  accessMode?: string;
  volumeMode?: string;
  timeoutS: number;
}

/** Creates (unless told not to) an upload DataVolume, waits for UploadReady, streams the file. */
export async function uploadDisk(
  c: KubeClient,
  namespace: string,
  name: string,
  file: string,
  o: UploadOptions,
): Promise<void> {
  if (o.create) {
    const size = o.size ?? (await guessSize(file));
    if (parseQuantity(size) === undefined)
      throw new UsageError(`--size ${JSON.stringify(size)} is not a quantity such as 10Gi`);
    await c.call('POST', dvPath(namespace), {
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'DataVolume',
      metadata: { name },
      spec: {
        source: { upload: {} },
        storage: {
          resources: { requests: { storage: size } },
          ...(o.storageClass !== undefined ? { storageClassName: o.storageClass } : {}),
          ...(o.accessMode !== undefined ? { accessModes: [o.accessMode] } : {}),
          ...(o.volumeMode !== undefined ? { volumeMode: o.volumeMode } : {}),
        },
      },
    });
    process.stderr.write(`DataVolume ${namespace}/${name} created (${size})\n`);
  }
  const phase = await waitForPhase(c, namespace, name, ['UploadReady', 'Succeeded'], o.timeoutS);
  if (phase === 'Succeeded')
    throw new Error(`DataVolume ${name} already holds an upload: create another one (or delete it first)`);
  const result = await putFile(c, uploadPath(namespace, name), file, `uploading ${name}`);
  const r = JSON.parse(result) as { sourceFormat?: string; compression?: string; virtualSize?: number };
  process.stdout.write(
    `uploaded ${file} into DataVolume ${name}: ${r.compression !== undefined && r.compression !== 'none' ? `${r.compression} ` : ''}${r.sourceFormat ?? ''} image, ${formatBytes(r.virtualSize ?? 0)} virtual\n`,
  );
}

/** Polls a DataVolume until its phase is one of `wanted`; Failed ends the wait with its reason. */
export async function waitForPhase(
  c: KubeClient,
  namespace: string,
  name: string,
  wanted: string[],
  timeoutS: number,
  onChange?: (phase: string, progress: string) => void,
): Promise<string> {
  const deadline = Date.now() + timeoutS * 1000;
  let seen = '';
  for (;;) {
    const { value } = await c.call<{
      status?: { phase?: string; progress?: string; conditions?: { type: string; message?: string }[] };
    }>('GET', dvPath(namespace, name));
    const phase = value.status?.phase ?? 'Pending';
    const progress = value.status?.progress ?? 'N/A';
    if (`${phase} ${progress}` !== seen) onChange?.(phase, progress);
    seen = `${phase} ${progress}`;
    if (wanted.includes(phase)) return phase;
    if (phase === 'Failed') {
      const why = value.status?.conditions?.find((x) => x.type === 'Running')?.message ?? '';
      throw new Error(`DataVolume ${name} failed: ${why}`);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutS}s waiting for DataVolume ${name} (phase ${phase})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The virtual size of a qcow2 (from its header) or raw file; compressed files need --size. */
async function guessSize(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(32);
    await fh.read(head, 0, 32, 0);
    if (head[0] === 0x1f || head.subarray(0, 6).equals(Buffer.from('fd377a585a00', 'hex')))
      throw new UsageError(`${file} is compressed: give the size of the disk with --size (e.g. --size 10Gi)`);
    const bytes =
      head.subarray(0, 4).toString('latin1') === 'QFI\xfb'
        ? Number(head.readBigUInt64BE(24))
        : statSync(file).size;
    return formatBytes(Math.max(1, Math.ceil(bytes / 1048576)) * 1048576);
  } finally {
    await fh.close();
  }
}

/** PUTs a file with a progress line (a bar on a terminal, every 10% otherwise); resolves with the answer body. */
async function putFile(c: KubeClient, path: string, file: string, label: string): Promise<string> {
  const size = statSync(file).size;
  const options = await c.connectionOptions();
  const url = new URL(path, c.server);
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let reported = -1;
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ...options,
        method: 'PUT',
        headers: {
          ...(options.headers as Record<string, string>),
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(size),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) {
            let status: Status | undefined;
            try {
              status = JSON.parse(text) as Status;
            } catch {
              status = undefined;
            }
            reject(new KubeApiError(res.statusCode ?? 0, status, status?.message ?? text));
          } else resolve(text);
        });
      },
    );
    req.on('error', reject);
    let sent = 0;
    const input = createReadStream(file);
    input.on('data', (chunk) => {
      sent += chunk.length;
      const percent = (100 * sent) / Math.max(1, size);
      if (tty) {
        const mbs = sent / 1048576 / Math.max(0.001, (Date.now() - started) / 1000);
        process.stderr.write(`\r${label}: ${bar(percent)} ${percent.toFixed(1)}% ${mbs.toFixed(1)} MiB/s`);
      } else if (Math.floor(percent / 10) > reported) {
        reported = Math.floor(percent / 10);
        process.stderr.write(`${label}: ${percent.toFixed(1)}%\n`);
      }
    });
    input.on('error', reject);
    input.on('end', () => {
      if (tty) process.stderr.write(`\n${label}: processing the image on the server\n`);
    });
    input.pipe(req);
  });
  return body;
}

const bar = (percent: number): string => {
  const filled = Math.round(percent / 5);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]`;
};
