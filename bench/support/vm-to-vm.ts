/**
 * VM-to-VM throughput measured from the host side (bench/network-pod.ts, case e). Driving `nc`
 * over serial consoles stalled, so the guests drive themselves from their user data: a sink guest
 * listens with busybox `nc`, a source guest streams /dev/zero to it for a few seconds on one path,
 * pauses, then on the other path, round after round. The host only reads the sink's tap byte
 * counters (one per path) once a second; a path's rate is its bytes over its time in the steady
 * part of its bursts (pathRate).
 */

/**
 * A persistent listener on `port` that discards what each connection sends (busybox `nc -ll -e`
 * runs the sink per connection; a plain `nc -l` stops at EOF on its own stdin, after a socket
 * buffer's worth).
 */
export const sinkScript = (port: number): string =>
  [
    "printf '#!/bin/sh\\ncat > /dev/null\\n' > /tmp/sink && chmod +x /tmp/sink",
    `nc -ll -p ${port} -e /tmp/sink &`,
  ].join('\n');

/**
 * Streams to each `targets` address in turn for `seconds`, with `pauseSeconds` between, forever;
 * a refused connect (the sink restarting its listener) is retried after a second.
 */
export const sourceScript = (
  targets: string[],
  port: number,
  seconds: number,
  pauseSeconds: number,
): string =>
  [
    '(sleep 3; while true; do',
    ...targets.map(
      (t) =>
        `  timeout ${seconds} nc ${t} ${port} < /dev/zero > /dev/null 2>&1 || sleep 1; sleep ${pauseSeconds}`,
    ),
    'done) &',
  ].join('\n');

export interface Sample {
  /** Milliseconds since an arbitrary origin. */
  t: number;
  /** Byte counter of each path at `t`. */
  bytes: Record<string, number>;
}

export interface PathRate {
  /** Bytes per second over the steady part of every burst. */
  bytesPerSecond: number;
  /** Seconds of steady streaming the rate is taken over. */
  seconds: number;
  bursts: number;
}

/**
 * The rate of one path: its bursts are the runs of intervals in which its counter moved; the first
 * and last interval of each (a partial second of ramp-up or of stopping) are left out, and the rest
 * is total bytes over total time, so a sampler that wakes late does not skew one second against
 * the next.
 */
export function pathRate(samples: readonly Sample[], path: string): PathRate {
  const intervals: { ms: number; bytes: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]?.bytes[path];
    const b = samples[i]?.bytes[path];
    const ms = (samples[i]?.t ?? 0) - (samples[i - 1]?.t ?? 0);
    if (a !== undefined && b !== undefined && ms > 0) intervals.push({ ms, bytes: b - a });
  }
  // A counter moving by a few packets (ARP, a retried connect) is not a burst.
  const floor = Math.max(0, ...intervals.map((x) => x.bytes)) * 0.05;
  let bytes = 0;
  let ms = 0;
  let bursts = 0;
  let run: { ms: number; bytes: number }[] = [];
  const close = (): void => {
    if (run.length > 0) bursts++;
    for (const x of run.slice(1, -1)) {
      bytes += x.bytes;
      ms += x.ms;
    }
    run = [];
  };
  for (const x of intervals) {
    if (x.bytes > floor && x.bytes > 0) run.push(x);
    else close();
  }
  close();
  return { bytesPerSecond: ms === 0 ? Number.NaN : (bytes * 1000) / ms, seconds: ms / 1000, bursts };
}

/**
 * Runs `fn` with a time limit; on expiry the error names the step, so a stalled run says where it
 * stopped instead of hanging.
 */
export async function step<T>(name: string, limitMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  process.stdout.write(`step: ${name}\n`);
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`stopped at step "${name}": no result after ${limitMs / 1000} s`)),
          limitMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    process.stdout.write(`step: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

/** Reads `read` every `everyMs` for `durationMs`; a failed read leaves that second out. */
export async function sampleCounters(
  read: () => Promise<Record<string, number>>,
  durationMs: number,
  everyMs = 1000,
): Promise<Sample[]> {
  const out: Sample[] = [];
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const next = Date.now() + everyMs;
    try {
      const bytes = await read();
      out.push({ t: Date.now(), bytes });
    } catch {
      // a sandbox or segment being read while it changes: skip this sample
    }
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  return out;
}
