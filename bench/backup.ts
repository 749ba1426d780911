/**
 * Backup benchmark (issue 17), against a real S3-protocol server (s3rver behind a counting proxy, in
 * its own process) on loopback, all in one run:
 *
 * (a) Full backup throughput of a raw disk image of BENCH_DISK_MIB (2048) MiB whose first half is
 *     random data and second half a hole: BackupRepository.write reading the image through a plain
 *     file reader, with the allocated extents from `qemu-img map`. Baseline, same run, same S3
 *     client library: `qemu-img convert -O qcow2` of the image, then one PutObject of the qcow2
 *     file. Target: backup throughput ≥ 0.8× the baseline's.
 * (b) Incremental backup after 1% of the disk changed (runs of 4 MiB of new random data at random
 *     64 KiB-aligned offsets, the extents given as changed, as the node's change tracking reports
 *     them): bytes the server received ≤ 2× the changed bytes, time ≤ 10% of the full backup.
 *
 * Usage: npm run bench:backup   Env: BENCH_DISK_MIB (2048), BENCH_CHUNK_KIB (1024), BENCH_STEP_SECONDS (600),
 *   BENCH_WORKERS (the repository's default; 0 = hash and compress in the main thread),
 *   BENCH_PACK_MIB (the repository's default pack size), BENCH_ROUNDS (2: baseline and full backup
 *   alternate which runs first; the medians are reported, every round listed), BENCH_READ_INTO
 *   (1; 0 = the file reader returns a new buffer per chunk, as the NBD reader does).
 */
import { execFile, spawn } from 'node:child_process';
import { randomFillSync, randomInt } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  openSync,
  readFileSync,
  statSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { defaultWorkers } from '../src/backup/chunk-codec.js';
import {
  BackupRepository,
  DEFAULT_PACK_SIZE,
  s3Target,
  type DiskSource,
  type BlockReader,
  type Extent,
  type FillingBlockReader,
  type WriteResult,
} from '../src/backup/index.js';
import { machine } from './support/machine.js';
import { env, round } from './support/stats.js';
import { finish, step } from './support/steps.js';

const DISK_MIB = env('BENCH_DISK_MIB', 2048);
const CHUNK_KIB = env('BENCH_CHUNK_KIB', 1024);
const PACK_MIB = env('BENCH_PACK_MIB', DEFAULT_PACK_SIZE / (1 << 20));
/** -1: the repository's default. */
const WORKERS = /^\d+$/.test(process.env.BENCH_WORKERS ?? '') ? Number(process.env.BENCH_WORKERS) : -1;
const STEP_SECONDS = env('BENCH_STEP_SECONDS', 600);
const ROUNDS = env('BENCH_ROUNDS', 2);
/** 0: the file reader returns a new buffer per chunk (no `readInto`), as the NBD reader does. */
const READ_INTO = process.env.BENCH_READ_INTO !== '0';
const MIB = 1 << 20;
const RUN = 4 * MIB;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: STEP_SECONDS * 1000, maxBuffer: 64 << 20 }, (err, out) =>
      err === null ? resolve(out) : reject(new Error(`${cmd} failed: ${err.message}`, { cause: err })),
    );
  });
}

/** First half random, second half a hole (sparse), like a half-used disk. */
function makeImage(path: string): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(16 * MIB);
  for (let mib = 0; mib < DISK_MIB / 2; mib += 16) writeSync(fd, randomFillSync(buf));
  ftruncateSync(fd, DISK_MIB * MIB);
  closeSync(fd);
}

/** Allocated extents of a raw file as qemu-img reports them (holes read as zeros). */
async function mapExtents(path: string): Promise<Extent[]> {
  const map = JSON.parse(await run('qemu-img', ['map', '--output=json', '-f', 'raw', path])) as {
    start: number;
    length: number;
    data: boolean;
    zero: boolean;
  }[];
  return map.map((e) => ({ offset: e.start, length: e.length, zero: !e.data || e.zero }));
}

/** A plain file reader; it fills the repository's reused buffers (`readInto`), as a reader may. */
async function fileDisk(
  path: string,
  changed: Extent[],
  full: boolean,
): Promise<DiskSource & { reader: BlockReader | FillingBlockReader }> {
  const fh = await open(path, 'r');
  return {
    name: 'root',
    virtualSize: statSync(path).size,
    changed,
    full,
    reader: {
      read: async (offset, length) => {
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
      ...(READ_INTO
        ? {
            readInto: async (offset: number, into: Buffer) =>
              (await fh.read(into, 0, into.length, offset)).bytesRead,
          }
        : {}),
      close: () => fh.close(),
    },
  };
}

/** Writes 1% of the disk anew, in 4 MiB runs at random 64 KiB-aligned offsets (runs may overlap). */
function changeOnePercent(path: string): Extent[] {
  const fd = openSync(path, 'r+');
  const buf = Buffer.alloc(RUN);
  const runs = Math.max(1, Math.round((DISK_MIB * MIB) / 100 / RUN));
  const out: Extent[] = [];
  for (let i = 0; i < runs; i++) {
    const offset = randomInt(0, (DISK_MIB * MIB - RUN) / 65536) * 65536;
    writeSync(fd, randomFillSync(buf), 0, RUN, offset);
    out.push({ offset, length: RUN, zero: false });
  }
  closeSync(fd);
  return out;
}

/**
 * CPU seconds (user + system) used so far by this process's threads, its waited-for children
 * (qemu-img) and the S3 server process: on a shared, loaded machine the wall time of a phase
 * depends on what else runs, its CPU time much less.
 */
function cpuSeconds(serverPid: number): { self: number; children: number; server: number } {
  const ticks = (pid: number | 'self', fields: number[]): number => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3; utime 14, stime 15, cutime 16, cstime 17.
    return fields.reduce((n, f) => n + Number(rest[f - 3]), 0) / 100;
  };
  const u = process.cpuUsage();
  return {
    self: (u.user + u.system) / 1e6,
    children: ticks('self', [16, 17]),
    server: ticks(serverPid, [14, 15]),
  };
}
const cpuSince = (
  before: ReturnType<typeof cpuSeconds>,
  serverPid: number,
): { self: number; children: number; server: number; total: number } => {
  const now = cpuSeconds(serverPid);
  const d = {
    self: round(now.self - before.self),
    children: round(now.children - before.children),
    server: round(now.server - before.server),
  };
  return { ...d, total: round(d.self + d.children + d.server) };
};

interface S3Process {
  pid: number;
  options: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  ask(command: 'count' | 'reset'): Promise<string>;
  stop(): void;
}

async function startS3(): Promise<S3Process> {
  const script = fileURLToPath(new URL('./support/s3-process.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done === true) throw new Error('the S3 server process ended');
    return r.value;
  };
  const options = JSON.parse(await next()) as S3Process['options'];
  return {
    pid: child.pid ?? 0,
    options,
    ask: (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    stop: () => {
      child.stdin.end('stop\n');
    },
  };
}

async function main(): Promise<void> {
  const load = loadavg().map((n) => round(n));
  const work = await mkdtemp(join(tmpdir(), 'hikube-bench-backup-'));
  const image = join(work, 'disk.raw');
  const s3 = await step('starting the S3 server', 60, startS3);
  try {
    await step(`making a ${DISK_MIB} MiB image (half random)`, STEP_SECONDS, () => makeImage(image));
    const extents = await step('qemu-img map', 60, () => mapExtents(image));
    const stored = extents.filter((e) => !e.zero).reduce((n, e) => n + e.length, 0);
    await step('warming the page cache', STEP_SECONDS, () =>
      run('dd', [`if=${image}`, 'of=/dev/null', 'bs=1M']).then(() => undefined),
    );
    const o = {
      ...s3.options,
      forcePathStyle: true,
      prefix: 'bench',
      targets: { allowPrivateTargets: true },
    };
    const repo = new BackupRepository(s3Target(o), {
      chunkSize: CHUNK_KIB * 1024,
      packSize: PACK_MIB * MIB,
      ...(WORKERS < 0 ? {} : { workers: WORKERS }),
    });

    // Baseline: qemu-img convert, then one PutObject of the qcow2 with the same client library.
    const qcow2 = join(work, 'disk.qcow2');
    const client = new S3Client({
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    type Cpu = ReturnType<typeof cpuSince>;
    const baseline = async (): Promise<{ seconds: number; cpu: Cpu }> => {
      const t0 = performance.now();
      const c0 = cpuSeconds(s3.pid);
      await step('baseline: qemu-img convert', STEP_SECONDS, () =>
        run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', image, qcow2]),
      );
      qcow2Bytes = statSync(qcow2).size;
      await step('baseline: upload', STEP_SECONDS, () =>
        client.send(
          new PutObjectCommand({
            Bucket: o.bucket,
            Key: 'baseline/disk.qcow2',
            Body: createReadStream(qcow2, { highWaterMark: MIB }),
            ContentLength: qcow2Bytes,
          }),
        ),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSince(c0, s3.pid);
      await rm(qcow2, { force: true });
      return { seconds, cpu };
    };
    /** A full backup of the image as a new application (nothing to deduplicate against). */
    const fullBackup = async (app: string): Promise<{ seconds: number; cpu: Cpu; result: WriteResult }> => {
      const t1 = performance.now();
      const c1 = cpuSeconds(s3.pid);
      const result = await step('full backup', STEP_SECONDS, async () => {
        const disk = await fileDisk(image, extents, true);
        try {
          return await repo.write({ key: `bench/${app}/full`, disks: [disk], spec: {} });
        } finally {
          await disk.reader.close();
        }
      });
      return { seconds: (performance.now() - t1) / 1000, cpu: cpuSince(c1, s3.pid), result };
    };
    let qcow2Bytes = 0;
    const rounds: {
      order: string;
      load: number;
      baselineSeconds: number;
      backupSeconds: number;
      baselineCpu: Cpu;
      backupCpu: Cpu;
    }[] = [];
    let last: { app: string; seconds: number; result: WriteResult } | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so a drift of the machine's load does not favour one.
      const app = `vm${r}`;
      const l = round(loadavg()[0] ?? 0);
      let base: { seconds: number; cpu: Cpu };
      let full: { seconds: number; cpu: Cpu; result: WriteResult };
      if (r % 2 === 0) {
        base = await baseline();
        full = await fullBackup(app);
      } else {
        full = await fullBackup(app);
        base = await baseline();
      }
      if (last !== undefined) await repo.delete(`bench/${last.app}/full`); // keeps the server's disk small
      last = { app, ...full };
      rounds.push({
        order: r % 2 === 0 ? 'baseline, backup' : 'backup, baseline',
        load: l,
        baselineSeconds: round(base.seconds),
        backupSeconds: round(full.seconds),
        baselineCpu: base.cpu,
        backupCpu: full.cpu,
      });
      process.stderr.write(
        `round ${r + 1}: ratio ${round(base.seconds / full.seconds)}, ` +
          `CPU seconds baseline ${base.cpu.total}, backup ${full.cpu.total}\n`,
      );
    }
    if (last === undefined) throw new Error('BENCH_ROUNDS must be at least 1');
    const ratios = rounds.map((x) => x.baselineSeconds / x.backupSeconds).sort((a, b) => a - b);
    const median = <T>(xs: T[]): T => xs[Math.floor((xs.length - 1) / 2)] as T;
    const fullSeconds = median(rounds.map((x) => x.backupSeconds).sort((a, b) => a - b));
    const baselineSeconds = median(rounds.map((x) => x.baselineSeconds).sort((a, b) => a - b));
    const ratio = median(ratios);
    const cpuRatio = median(rounds.map((x) => x.baselineCpu.total / x.backupCpu.total).sort((a, b) => a - b));
    const full = last.result;

    const changed = changeOnePercent(image);
    const changedBytes = changed.reduce((n, e) => n + e.length, 0);
    await s3.ask('reset');
    const t2 = performance.now();
    const incr = await step('incremental backup', STEP_SECONDS, async () => {
      const disk = await fileDisk(image, changed, false);
      try {
        return await repo.write({
          key: `bench/${last.app}/incr`,
          previous: `bench/${last.app}/full`,
          disks: [disk],
          spec: {},
        });
      } finally {
        await disk.reader.close();
      }
    });
    const incrSeconds = (performance.now() - t2) / 1000;
    const received = Number(await s3.ask('count'));

    const mibps = (bytes: number, s: number): number => round(bytes / MIB / s, 1);
    const result = {
      machine: machine(),
      date: new Date().toISOString(),
      disk: {
        virtualBytes: DISK_MIB * MIB,
        allocatedBytes: stored,
        content: 'raw, first half random, second half a hole',
      },
      full: {
        workers: WORKERS < 0 ? defaultWorkers() : WORKERS,
        chunkBytes: CHUNK_KIB * 1024,
        readInto: READ_INTO,
        packBytes: PACK_MIB * MIB,
        loadAverageAtStart: load,
        rounds,
        backupSeconds: round(fullSeconds),
        backupMiBps: mibps(stored, fullSeconds),
        bytesSent: full.size,
        chunksSent: full.chunksSent,
        baselineSeconds: round(baselineSeconds),
        baselineMiBps: mibps(stored, baselineSeconds),
        baselineQcow2Bytes: qcow2Bytes,
        ratio: round(ratio),
        cpuRatio: round(cpuRatio),
        target: 0.8,
        met: ratio >= 0.8,
      },
      incremental: {
        changedBytes,
        runs: changed.length,
        serverReceivedBytes: received,
        bytesSent: incr.size,
        chunksSent: incr.chunksSent,
        bytesRatio: round(received / changedBytes),
        seconds: round(incrSeconds),
        timeRatio: round(incrSeconds / last.seconds, 3),
        met: received <= 2 * changedBytes && incrSeconds <= 0.1 * last.seconds,
      },
    };
    const out = fileURLToPath(new URL('../../bench/results/backup.json', import.meta.url));
    const { format } = await import('prettier');
    await writeFile(out, await format(JSON.stringify(result), { parser: 'json', filepath: out }));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    s3.stop();
    await rm(work, { recursive: true, force: true });
  }
}

finish(main);
