/**
 * containerDisk overlay benchmark: a small (16 MiB) and a large (BENCH_CD_LARGE_MIB, 1 GiB by
 * default, half random data) containerDisk are pushed to a real registry on loopback (Debian's
 * docker-registry), pulled once into the image store through the node's ContainerDisks cache
 * (timed), then the node agent's volume preparation for a VMI using each (`prepareVolumes`: the
 * image looked up in the cache and a qcow2 overlay created over it) is timed BENCH_CD_RUNS times.
 * The overlay's time must not depend on the image's size.
 *
 * Usage: npm run bench:containerdisk   (writes bench/results/containerdisk.json)
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { VirtualMachineInstance } from '../src/api/kubevirt/vmi.js';
import { genisoimage, qemuImg } from '../src/node/adapters.js';
import { UndoStack } from '../src/node/undo.js';
import { prepareVolumes } from '../src/node/volumes.js';
import { ContainerDisks } from '../src/storage/containerdisk.js';
import { ImageStore } from '../src/storage/images.js';
import { qemuImgTool } from '../src/storage/qemu-img.js';
import { pushContainerDisk, startRegistry } from '../test/unit/storage/registry-server.js';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? '');
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const LARGE_MIB = env('BENCH_CD_LARGE_MIB', 1024);
const RUNS = env('BENCH_CD_RUNS', 20);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** A qcow2 of `mib` MiB virtual size whose first half holds random data. */
function makeDisk(path: string, mib: number): void {
  const raw = `${path}.raw`;
  const fd = openSync(raw, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib / 2; i++) writeSync(fd, randomFillSync(chunk), 0, chunk.length, i * chunk.length);
  closeSync(fd);
  execFileSync('truncate', ['-s', `${mib}M`, raw]);
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, path]);
  execFileSync('rm', ['-f', raw]);
}

const vmi = (image: string, uid: string): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'bench', namespace: 'default', uid },
  spec: {
    domain: { devices: { disks: [{ name: 'root', disk: {} }] } },
    volumes: [{ name: 'root', containerDisk: { image } }],
  },
});

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'hikube-bench-cd-'));
  const registry = await startRegistry();
  try {
    const sizes = { small: 16, large: LARGE_MIB };
    const store = new ImageStore([join(work, 'images')]);
    const disks = new ContainerDisks({
      store,
      dir: join(work, 'images'),
      images: qemuImgTool,
      // The benchmark's registry is on loopback.
      targets: { allowPrivateTargets: true },
    });
    const result: Record<string, unknown> = {};
    const refs: Record<string, string> = {};
    for (const [label, mib] of Object.entries(sizes)) {
      const file = join(work, `${label}.qcow2`);
      makeDisk(file, mib);
      await pushContainerDisk(registry.host, `bench/${label}`, '1', file);
      await rm(file, { force: true });
      const ref = `${registry.host}/bench/${label}:1`;
      const t0 = performance.now();
      for (;;) {
        const got = disks.acquire(ref, 'bench');
        if (got.state === 'ready') break;
        if (got.state === 'failed') throw new Error(got.message);
        await new Promise((r) => setTimeout(r, 20));
      }
      const pullS = (performance.now() - t0) / 1000;
      log(`${label} (${mib} MiB): pulled in ${pullS.toFixed(2)} s`);
      refs[label] = ref;
      result[label] = { virtualMiB: mib, pullSeconds: round(pullS) };
    }
    // Alternating small and large, so that the machine's load falls on both alike.
    const times: Record<string, number[]> = { small: [], large: [] };
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
      for (const label of order) {
        const dir = await mkdtemp(join(work, 'vmi-'));
        const t = performance.now();
        await prepareVolumes(vmi(refs[label] ?? '', `u${i}`), {
          dir,
          images: disks,
          disks: qemuImg,
          iso: genisoimage,
          secrets: () => undefined,
          claimPath: () => undefined,
          undo: new UndoStack(),
        });
        times[label]?.push(performance.now() - t);
        await rm(dir, { recursive: true, force: true });
      }
    }
    for (const label of Object.keys(sizes)) {
      const ts = times[label] ?? [];
      log(`${label}: overlay median ${median(ts).toFixed(1)} ms`);
      result[label] = {
        ...(result[label] as object),
        overlayMsMedian: round(median(ts)),
        overlayMsMin: round(Math.min(...ts)),
        overlayMsMax: round(Math.max(...ts)),
      };
    }
    const out = {
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? '',
        memTotalGiB: round(totalmem() / 2 ** 30, 1),
        node: process.version,
        loadAverage1m: round(loadavg()[0] ?? 0),
      },
      date: new Date().toISOString(),
      runs: RUNS,
      ...result,
    };
    const path = fileURLToPath(new URL('../../bench/results/containerdisk.json', import.meta.url));
    const { format } = await import('prettier');
    await writeFile(path, await format(JSON.stringify(out), { parser: 'json', filepath: path }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
