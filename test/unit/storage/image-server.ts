/**
 * Test fixtures for the importers: disk images made at test time with qemu-img (qcow2, raw, VMDK,
 * VHD, VHDX, gzip, xz, corrupt ones), and a loopback HTTP server that serves them the ways real
 * servers misbehave: a 404, a connection dropped mid-body (once), basic auth, no Content-Length,
 * a throttled transfer, a slow first byte.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** The first bytes of every test image, what a guest reads back from the imported disk. */
export const GOLDEN = 'hikube-golden-image\n';
/** Virtual size of the test images. */
export const IMAGE_BYTES = 8 * 1048576;

export interface Images {
  dir: string;
  /** File name → sha256 hex. */
  sha256(name: string): string;
  md5(name: string): string;
}

/** Writes the fixtures into `dir`: disk.raw (8 MiB) and its conversions, plus broken files. */
export function makeImages(dir: string): Images {
  const raw = Buffer.alloc(IMAGE_BYTES);
  raw.write(GOLDEN, 0);
  // Some data past the first cluster, so a conversion has something to carry.
  for (let i = 1; i < 64; i++) raw.write(`block ${i} of the test image\n`, i * 131072);
  writeFileSync(join(dir, 'disk.raw'), raw);
  const img = (args: string[]): void => void execFileSync('qemu-img', args);
  img(['convert', '-f', 'raw', '-O', 'qcow2', join(dir, 'disk.raw'), join(dir, 'disk.qcow2')]);
  img(['convert', '-f', 'raw', '-O', 'vmdk', join(dir, 'disk.raw'), join(dir, 'disk.vmdk')]);
  img(['convert', '-f', 'raw', '-O', 'vpc', join(dir, 'disk.raw'), join(dir, 'disk.vhd')]);
  img(['convert', '-f', 'raw', '-O', 'vhdx', join(dir, 'disk.raw'), join(dir, 'disk.vhdx')]);
  execFileSync('sh', ['-c', `gzip -c disk.qcow2 > disk.qcow2.gz && xz -T0 -c disk.raw > disk.raw.xz`], {
    cwd: dir,
  });
  // Broken inputs: a qcow2 header of an unknown version, a truncated xz stream, a zip file.
  writeFileSync(
    join(dir, 'bad-version.qcow2'),
    Buffer.concat([Buffer.from('QFI\xfb\x00\x00\x00\x09', 'latin1'), Buffer.alloc(504)]),
  );
  const xz = readFileSync(join(dir, 'disk.raw.xz'));
  writeFileSync(join(dir, 'truncated.raw.xz'), xz.subarray(0, Math.floor(xz.length / 2)));
  writeFileSync(join(dir, 'archive.zip'), Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(200)]));
  // A qcow2 whose metadata points past its end (qemu-img check finds it).
  const qcow = readFileSync(join(dir, 'disk.qcow2'));
  writeFileSync(join(dir, 'truncated.qcow2'), qcow.subarray(0, 1024));
  // A qcow2 with a backing file: refused (it could name any file of the host).
  img(['create', '-q', '-f', 'qcow2', '-b', join(dir, 'disk.raw'), '-F', 'raw', join(dir, 'backed.qcow2')]);
  const hash = (alg: string, name: string): string =>
    createHash(alg)
      .update(readFileSync(join(dir, name)))
      .digest('hex');
  return { dir, sha256: (n) => hash('sha256', n), md5: (n) => hash('md5', n) };
}

export interface ImageServer {
  url: string;
  /** Requests received per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Serves `dir`. Path prefixes change the behaviour:
 * `/drop-once/F` closes the connection halfway through the first response for F;
 * `/auth/F` needs basic auth user `hikube`, password `s3cret`;
 * `/chunked/F` sends no Content-Length; `/slow/F` sends 64 KiB every 20 ms;
 * `/late/F` answers after 1.5 s. Anything missing is a 404.
 */
export async function serveImages(dir: string): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const parts = path.split('/').filter((p) => p !== '');
    const name = parts[parts.length - 1] ?? '';
    const mode = parts.length > 1 ? parts[0] : '';
    let size: number;
    try {
      size = statSync(join(dir, name)).size;
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (mode === 'auth') {
      const want = `Basic ${Buffer.from('hikube:s3cret').toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="images"' }).end();
        return;
      }
    }
    const file = join(dir, name);
    const send = (): void => {
      if (mode === 'chunked') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        createReadStream(file).pipe(res);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
      if (mode === 'drop-once' && n === 1) {
        createReadStream(file, { start: 0, end: Math.floor(size / 2) })
          .on('data', (d) => res.write(d))
          .on('end', () => res.socket?.destroy());
        return;
      }
      if (mode === 'slow') {
        const data = readFileSync(file);
        let at = 0;
        const tick = setInterval(() => {
          if (res.destroyed) return clearInterval(tick);
          res.write(data.subarray(at, at + 65536));
          at += 65536;
          if (at >= data.length) {
            clearInterval(tick);
            res.end();
          }
        }, 20);
        return;
      }
      createReadStream(file).pipe(res);
    };
    if (mode === 'late') setTimeout(send, 1500);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
