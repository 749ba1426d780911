/**
 * A real OCI registry on loopback for the tests (Debian's docker-registry, on a free port, storage
 * in a temp dir), and a containerDisk image pushed to it with the registry's HTTP API: a gzip'd
 * tar layer holding `disk/disk.qcow2` (owner 107:107, as KubeVirt's containerDisks), its config and
 * an OCI manifest — no container tooling needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { eventually } from '../../support/wait.js';

export interface Registry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'hikube-registry-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const host = `127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      return (await fetch(`http://${host}/v2/`)).status === 200;
    },
    'the registry to answer',
    10_000,
    100,
  );
  return {
    host,
    async stop() {
      child.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A ustar archive of the given entries (directories end with /). */
export function tar(entries: { name: string; data?: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const dir = e.name.endsWith('/');
    const data = e.data ?? Buffer.alloc(0);
    h.write(e.name, 0, 100);
    h.write(dir ? '0000755\0' : '0000644\0', 100);
    h.write('0000153\0', 108); // uid 107
    h.write('0000153\0', 116); // gid 107
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write('        ', 148);
    h.write(dir ? '5' : '0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function putBlob(host: string, repo: string, blob: Buffer): Promise<string> {
  const digest = sha(blob);
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: HTTP ${start.status}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: blob,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/**
 * Pushes `repo:tag`: a containerDisk layer with `diskFile` as disk/disk.qcow2, below an optional
 * top layer of other files (so the importer has to look down the layers). Returns the manifest
 * digest.
 */
export async function pushContainerDisk(
  host: string,
  repo: string,
  tag: string,
  diskFile: string | undefined,
  extraTopLayer = false,
  /** More files of the disk layer: path in the image → host file (e.g. boot/vmlinux). */
  files: Record<string, string> = {},
): Promise<string> {
  const layers: Buffer[] = [];
  const more = Object.entries(files).map(([name, from]) => ({ name, data: readFileSync(from) }));
  const dirs = [...new Set(more.map((f) => `${f.name.split('/').slice(0, -1).join('/')}/`))];
  if (diskFile !== undefined)
    layers.push(
      tar([
        { name: 'disk/' },
        { name: 'disk/disk.qcow2', data: readFileSync(diskFile) },
        ...dirs.map((name) => ({ name })),
        ...more,
      ]),
    );
  if (extraTopLayer || diskFile === undefined)
    layers.push(tar([{ name: 'etc/' }, { name: 'etc/motd', data: Buffer.from('not a disk\n') }]));
  const gz = layers.map((l) => gzipSync(l, { level: 1 }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map(sha) },
      config: {},
    }),
  );
  const configDigest = await putBlob(host, repo, config);
  const layerDigests: string[] = [];
  for (const l of gz) layerDigests.push(await putBlob(host, repo, l));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: gz.map((l, i) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layerDigests[i],
        size: l.length,
      })),
    }),
  );
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`manifest upload: HTTP ${res.status} ${await res.text()}`);
  return sha(manifest);
}
