/**
 * `hikube image import NAME FILE` streams a disk image into the node's image store (with a
 * progress line); `hikube image import NAME --from IMAGE` gives an existing image another name.
 */
import { createReadStream, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import type { Status } from '../api/meta.js';
import { KubeApiError } from '../client/kube.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';

const base = (name: string): string => `/apis/images.hikube.io/v1alpha1/images/${encodeURIComponent(name)}`;

export async function runImage(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...connectionOptions, from: { type: 'string' } } });
  const [verb, name, file] = positionals;
  if (verb !== 'import') throw new UsageError('usage: hikube image import NAME FILE | hikube image import NAME --from IMAGE');
  if (name === undefined || (file === undefined) === (values.from === undefined)) {
    throw new UsageError('image import needs NAME and either FILE or --from IMAGE');
  }
  const c = loadClient(values);
  if (values.from !== undefined) {
    await c.call('PUT', `${base(name)}/alias`, { from: values.from });
    process.stdout.write(`image ${name} now names ${values.from}\n`);
    return;
  }
  const size = statSync(file ?? '').size;
  const options = await c.connectionOptions();
  const url = new URL(`${base(name)}/upload`, c.server);
  await new Promise<void>((resolve, reject) => {
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
          const body = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) {
            let status: Status | undefined;
            try {
              status = JSON.parse(body) as Status;
            } catch {
              status = undefined;
            }
            reject(new KubeApiError(res.statusCode ?? 0, status, status?.message ?? body));
          } else resolve();
        });
      },
    );
    req.on('error', reject);
    let sent = 0;
    const tty = process.stderr.isTTY;
    const input = createReadStream(file ?? '');
    input.on('data', (chunk) => {
      sent += chunk.length;
      if (tty) process.stderr.write(`\ruploading ${name}: ${((100 * sent) / Math.max(1, size)).toFixed(1)}%`);
    });
    input.on('error', reject);
    input.pipe(req);
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stdout.write(`image ${name} imported (${size} bytes)\n`);
}
