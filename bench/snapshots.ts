/**
 * Snapshot and clone benchmark: for thin qcow2 disks of 1, 10 and 100 GiB (virtual size) holding
 * the same amount of written data (BENCH_DATA_MIB, in 8 extents spread over the disk), the time of
 *
 * - a live snapshot: the node's Snapshotter against a real QEMU that has the disk open (one QMP
 *   transaction of blockdev-snapshot-sync, then the symlink swap), as the snapshot controller runs it;
 * - an offline snapshot (stopped VM): qemu-img create of the new layer and the symlink swap;
 * - a linked clone: a new layer over the snapshot's, in a new volume (what a clone or a restore
 *   to a new VM does per disk);
 * - a full copy of the same snapshot (qemu-img convert, what `hikube clone --full` does),
 *   measured in the same run as the baseline.
 *
 * Target: snapshot and linked clone < 200 ms, flat in the disk size. Medians of BENCH_ROUNDS.
 * Usage: npm run bench:snapshots   Env: BENCH_DATA_MIB (512), BENCH_ROUNDS (7).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connectQmp } from '../src/hypervisor/qmp.js';
import type { RunningGuest } from '../src/node/agent.js';
import { NodeSnapshotter } from '../src/node/snapshots.js';
import { adopt, restoreOffline, snapshotOffline } from '../src/storage/layers.js';
import { runQemuImg } from '../src/storage/qemu-img.js';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? '');
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const DATA_MIB = env('BENCH_DATA_MIB', 512);
const ROUNDS = env('BENCH_ROUNDS', 7);
const SIZES_GIB = [1, 10, 100];
const TARGET_MS = 200;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

interface Row {
  sizeGiB: number;
  liveSnapshotMs: number;
  offlineSnapshotMs: number;
  linkedCloneMs: number;
  fullCopyMs: number;
}

/** A QEMU with the disk open (no guest code runs: -S), as a RunningGuest for the Snapshotter. */
async function qemuWith(dir: string, disk: string): Promise<{ guest: RunningGuest; stop: () => void }> {
  const qmpPath = join(dir, 'qmp.sock');
  const pidfile = join(dir, 'qemu.pid');
  execFileSync('qemu-system-x86_64', [
    '-S',
    '-nodefaults',
    '-display',
    'none',
    '-machine',
    'q35',
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    '-blockdev',
    `driver=file,node-name=drive0-file,filename=${disk}`,
    '-blockdev',
    'driver=qcow2,node-name=drive0,file=drive0-file',
    '-device',
    'virtio-blk-pci,id=disk-data,drive=drive0',
    '-daemonize',
    '-pidfile',
    pidfile,
  ]);
  const qmp = await connectQmp(qmpPath, { connectTimeoutMs: 5000, commandTimeoutMs: 30_000 });
  const guest = {
    namespace: 'bench',
    name: 'vm',
    command: <T>(name: string, args?: Record<string, unknown>) => qmp.execute<T>(name, args),
  } as unknown as RunningGuest;
  return {
    guest,
    stop: () => {
      void qmp.close();
      const pid = Number(execFileSync('cat', [pidfile], { encoding: 'utf8' }).trim());
      process.kill(pid, 'SIGKILL');
    },
  };
}

async function benchSize(root: string, sizeGiB: number): Promise<Row> {
  const dir = join(root, `${sizeGiB}g`);
  await mkdir(dir, { recursive: true });
  const volume = join(dir, 'pvc-src.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, `${sizeGiB}G`]);
  // The same data on every size, spread over the disk so metadata covers all of it.
  const chunks = 8;
  const stride = Math.floor((sizeGiB * 1024) / chunks);
  const per = Math.floor(DATA_MIB / chunks);
  for (let i = 0; i < chunks; i++)
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P ${i + 1} ${i * stride}M ${per}M`, volume], {
      stdio: 'ignore',
    });
  await adopt(volume);

  const offline: number[] = [];
  let frozen = '';
  for (let i = 0; i < ROUNDS; i++)
    offline.push(
      await timed(async () => {
        frozen = await snapshotOffline(runQemuImg, volume);
      }),
    );

  const { guest, stop } = await qemuWith(dir, await adopt(volume));
  const snapshotter = new NodeSnapshotter(() => [guest], runQemuImg);
  const live: number[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++)
      live.push(
        await timed(() =>
          snapshotter.take({
            namespace: 'bench',
            vmName: 'vm',
            freeze: false,
            running: true,
            volumes: [{ name: 'data', path: volume }],
          }),
        ),
      );
  } finally {
    stop();
  }

  const linked: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const target = join(dir, `pvc-linked-${i}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', target, `${sizeGiB}G`]);
    linked.push(await timed(() => restoreOffline(runQemuImg, target, frozen)));
  }
  const full = join(dir, 'pvc-full.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', full, `${sizeGiB}G`]);
  const fullMs = await timed(() => restoreOffline(runQemuImg, full, frozen, true));
  await rm(dir, { recursive: true, force: true });
  return {
    sizeGiB,
    liveSnapshotMs: median(live),
    offlineSnapshotMs: median(offline),
    linkedCloneMs: median(linked),
    fullCopyMs: fullMs,
  };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'hikube-bench-snap-'));
  const rows: Row[] = [];
  try {
    for (const size of SIZES_GIB) {
      const row = await benchSize(root, size);
      rows.push(row);
      process.stdout.write(
        `${String(size).padStart(3)} GiB: live snapshot ${row.liveSnapshotMs.toFixed(1)} ms, offline snapshot ${row.offlineSnapshotMs.toFixed(1)} ms, linked clone ${row.linkedCloneMs.toFixed(1)} ms, full copy ${row.fullCopyMs.toFixed(1)} ms\n`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const worst = Math.max(...rows.flatMap((r) => [r.liveSnapshotMs, r.offlineSnapshotMs, r.linkedCloneMs]));
  const verdict = worst < TARGET_MS ? 'PASS' : 'FAIL';
  process.stdout.write(`target < ${TARGET_MS} ms: ${verdict} (worst ${worst.toFixed(1)} ms)\n`);
  const results = fileURLToPath(new URL('../../bench/results/snapshots.json', import.meta.url));
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    qemuImg: execFileSync('qemu-img', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '',
  };
  await writeFile(
    results,
    `${JSON.stringify({ date: new Date().toISOString(), dataMiB: DATA_MIB, rounds: ROUNDS, machine, rows, verdict }, null, 2)}\n`,
  );
  process.stdout.write(`results written to ${results}\n`);
}

await main();
