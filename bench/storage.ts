/**
 * Storage benchmarks against a platform in a temp dir (in process; the HTTP image server and the
 * baseline tools run as separate processes so they do not share its event loop):
 *
 * (a) Import throughput: a DataVolume importing a 2 GiB raw image (half random, half zeros) from a
 *     loopback HTTP server, timed from the create to phase Succeeded, against the same transfer
 *     done by hand in the same run: `curl -o FILE URL && qemu-img convert -O qcow2 FILE OUT` (the
 *     shape of `curl | qemu-img convert`: qemu-img cannot read a pipe). Alternating, medians.
 *     Target: hikube/baseline throughput ≥ 0.8.
 * (b) Upload throughput: the same image PUT to the upload endpoint over HTTPS (the path of
 *     `hikube image upload`), create to Succeeded.
 * (c) VM start from a cached containerDisk: the node agent's overlay creation (qemu-img create -b)
 *     over a 16 MiB and over a 2 GiB base: the time must not depend on the size.
 *
 * Usage: npm run build && node dist/bench/storage.js
 * Env: BENCH_IMAGE_MIB (2048), BENCH_ROUNDS (3), BENCH_OVERLAYS (20), BENCH_STEP_SECONDS (600: the
 * time limit of each step; a step over it stops the run with the step's name).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { findKindByGvk } from '../src/api/registry.js';
import { qemuImg } from '../src/node/adapters.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';
import { uploadPath } from '../src/storage/upload.js';
import { machine } from './support/machine.js';
import { env, median, round } from './support/stats.js';
import { finish, step } from './support/steps.js';

const IMAGE_MIB = env('BENCH_IMAGE_MIB', 2048);
const ROUNDS = env('BENCH_ROUNDS', 3);
const OVERLAYS = env('BENCH_OVERLAYS', 20);
const STEP_SECONDS = env('BENCH_STEP_SECONDS', 600);
const TARGET_RATIO = 0.8;

/** Runs a tool without blocking the event loop (so a step's time limit can fire), killed at the limit. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: STEP_SECONDS * 1000, maxBuffer: 1 << 20 }, (err) =>
      err === null ? resolve() : reject(new Error(`${cmd} failed: ${err.message}`, { cause: err })),
    );
  });
}

/** Half random (incompressible, allocated), half zeros (sparse after conversion), like a used disk. */
function makeImage(path: string, mib: number): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1048576);
  for (let written = 0; written < mib; written += 16) {
    if (written < mib / 2) randomFillSync(chunk);
    else chunk.fill(0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

/** A static file server in its own process (so serving costs the platform nothing). */
async function serve(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
    const s = http.createServer((req, res) => {
      const f = path.join(${JSON.stringify(dir)}, path.basename(req.url));
      fs.stat(f, (err, st) => {
        if (err) { res.writeHead(404).end(); return; }
        res.writeHead(200, { 'Content-Length': st.size });
        fs.createReadStream(f, { highWaterMark: 1 << 20 }).pipe(res);
      });
    });
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}`, child };
}

async function waitPhase(p: Platform, name: string): Promise<string> {
  const def = findKindByGvk('cdi.kubevirt.io/v1beta1', 'DataVolume');
  if (def === undefined) throw new Error('DataVolume kind missing');
  for (;;) {
    const dv = p.registry.store.get('cdi.kubevirt.io/datavolumes', 'default', name)?.object as
      { status?: { phase?: string; conditions?: { type: string; message?: string }[] } } | undefined;
    const phase = dv?.status?.phase;
    if (phase === 'Succeeded') return phase;
    if (phase === 'Failed')
      throw new Error(
        `${name} failed: ${dv?.status?.conditions?.find((c) => c.type === 'Running')?.message ?? ''}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

function createDv(p: Platform, name: string, source: Record<string, unknown>, size: string): void {
  const def = findKindByGvk('cdi.kubevirt.io/v1beta1', 'DataVolume');
  if (def === undefined) throw new Error('DataVolume kind missing');
  p.registry.create(def, 'default', {
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name },
    spec: { source, storage: { resources: { requests: { storage: size } } } },
  });
}

/** Deletes a DataVolume and waits for its claim (and so its disk file) to be gone. */
async function deleteDv(p: Platform, name: string): Promise<void> {
  const def = findKindByGvk('cdi.kubevirt.io/v1beta1', 'DataVolume');
  if (def !== undefined) p.registry.delete(def, 'default', name, { propagationPolicy: 'Background' });
  while (p.registry.store.get('/persistentvolumeclaims', 'default', name) !== undefined)
    await new Promise((r) => setTimeout(r, 20));
  // Only this claim's volume: the platform keeps volumes of its own (the OS image catalog's), so
  // waiting for no volume at all never ended (the hang of issue 17: nothing after "making … image").
  const mine = (): boolean =>
    p.registry.store.list('/persistentvolumes').items.some((i) => {
      const ref = (i.object as { spec?: { claimRef?: { namespace?: string; name?: string } } }).spec
        ?.claimRef;
      return ref?.namespace === 'default' && ref.name === name;
    });
  while (mine()) await new Promise((r) => setTimeout(r, 20));
}

function put(p: Platform, path: string, file: string): Promise<void> {
  const ca = readFileSync(join(p.kubeconfigPath, '..', 'pki', 'ca.crt'));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, p.url),
      {
        method: 'PUT',
        ca,
        headers: {
          Authorization: `Bearer ${p.token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(statSync(file).size),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(Buffer.concat(chunks).toString())),
        );
      },
    );
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req);
  });
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'hikube-bench-storage-'));
  const images = join(work, 'images');
  await mkdir(images);
  const image = join(images, 'disk.raw');
  await step(`making a ${IMAGE_MIB} MiB image`, STEP_SECONDS, () => makeImage(image, IMAGE_MIB));
  const bytes = statSync(image).size;
  const size = `${Math.ceil(IMAGE_MIB / 1024) + 1}Gi`;
  const { url, child } = await step('starting the image server', 30, () => serve(images));
  // The image server is on loopback.
  const p = await step('starting the platform', 120, () =>
    startPlatform({
      dataDir: join(work, 'data'),
      host: '127.0.0.1',
      port: 0,
      accel: 'tcg',
      allowPrivateTargets: true,
    }),
  );
  const hikube: number[] = [];
  const baseline: number[] = [];
  const curlOnly: number[] = [];
  const uploads: number[] = [];
  try {
    const label = (i: number): string => (i === 0 ? 'warm-up' : `round ${i}`);
    const importRound = async (i: number): Promise<void> => {
      await run('sync', []);
      const t = performance.now();
      await step(`${label(i)}: hikube import`, STEP_SECONDS, async () => {
        createDv(p, `import-${i}`, { http: { url: `${url}/disk.raw` } }, size);
        await waitPhase(p, `import-${i}`);
      });
      hikube.push((performance.now() - t) / 1000);
      await step(`${label(i)}: deleting the imported volume`, 120, () => deleteDv(p, `import-${i}`));
    };
    const baselineRound = async (i: number): Promise<void> => {
      const tmp = join(work, 'curl.raw');
      const out = join(work, 'curl.qcow2');
      await run('sync', []);
      const t = performance.now();
      await step(`${label(i)}: curl`, STEP_SECONDS, () =>
        run('curl', ['-s', '-f', '-o', tmp, `${url}/disk.raw`]),
      );
      const curled = performance.now();
      await step(`${label(i)}: qemu-img convert`, STEP_SECONDS, () =>
        run('qemu-img', ['convert', '-W', '-f', 'raw', '-O', 'qcow2', tmp, out]),
      );
      baseline.push((performance.now() - t) / 1000);
      curlOnly.push((curled - t) / 1000);
      await rm(tmp, { force: true });
      await rm(out, { force: true });
    };
    // Round 0 warms the page cache and is not counted. Dirty pages of one step are flushed and the
    // files of the previous step deleted before the next; the order alternates between rounds.
    for (let i = 0; i <= ROUNDS; i++) {
      if (i % 2 === 0) {
        await importRound(i);
        await baselineRound(i);
      } else {
        await baselineRound(i);
        await importRound(i);
      }
      createDv(p, `upload-${i}`, { upload: {} }, size);
      await step(`${label(i)}: waiting for UploadReady`, 120, async () => {
        for (;;) {
          const dv = p.registry.store.get('cdi.kubevirt.io/datavolumes', 'default', `upload-${i}`)?.object as
            { status?: { phase?: string } } | undefined;
          if (dv?.status?.phase === 'UploadReady') break;
          await new Promise((r) => setTimeout(r, 20));
        }
      });
      await run('sync', []);
      const t = performance.now();
      await step(`${label(i)}: upload`, STEP_SECONDS, () =>
        put(p, uploadPath('default', `upload-${i}`), image),
      );
      uploads.push((performance.now() - t) / 1000);
      await step(`${label(i)}: deleting the uploaded volume`, 120, () => deleteDv(p, `upload-${i}`));
    }
    for (const times of [hikube, baseline, curlOnly, uploads]) times.shift();
  } finally {
    child.kill();
    await step('stopping the platform', 60, () => p.stop());
  }

  // (c) Overlays over a small and a big base, as the node agent makes them for a containerDisk.
  const small = join(work, 'small.qcow2');
  const big = join(work, 'big.qcow2');
  await step('making the overlay bases', STEP_SECONDS, async () => {
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', image, big]);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', small, '16M']);
  });
  const overlay = async (base: string): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < OVERLAYS; i++) {
      const path = join(work, `overlay-${i}.qcow2`);
      const t = performance.now();
      await qemuImg.createOverlay(base, 'qcow2', path);
      times.push(performance.now() - t);
      await rm(path, { force: true });
    }
    return times;
  };
  const overSmall = await step('overlays over a small base', STEP_SECONDS, () => overlay(small));
  const overBig = await step('overlays over a big base', STEP_SECONDS, () => overlay(big));

  const gib = bytes / 2 ** 30;
  const result = {
    machine: machine(),
    date: new Date().toISOString(),
    image: { bytes, content: 'raw, first half random, second half zeros' },
    import: {
      rounds: ROUNDS,
      hikubeSeconds: hikube.map((x) => round(x)),
      baselineSeconds: baseline.map((x) => round(x)),
      curlOnlySeconds: curlOnly.map((x) => round(x)),
      hikubeMiBps: round(bytes / 2 ** 20 / median(hikube), 1),
      baselineMiBps: round(bytes / 2 ** 20 / median(baseline), 1),
      ratio: round(median(baseline) / median(hikube)),
      target: TARGET_RATIO,
      met: median(baseline) / median(hikube) >= TARGET_RATIO,
    },
    upload: {
      seconds: uploads.map((x) => round(x)),
      MiBps: round(bytes / 2 ** 20 / median(uploads), 1),
    },
    overlay: {
      runs: OVERLAYS,
      smallBaseMs: round(median(overSmall)),
      bigBaseMs: round(median(overBig)),
      bigBaseGiB: round(gib, 1),
    },
  };
  const out = fileURLToPath(new URL('../../bench/results/storage.json', import.meta.url));
  // Formatted as the repository's formatter wants it (bench/ is checked by prettier).
  const { format } = await import('prettier');
  await writeFile(out, await format(JSON.stringify(result), { parser: 'json', filepath: out }));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await rm(work, { recursive: true, force: true });
}

finish(main);
