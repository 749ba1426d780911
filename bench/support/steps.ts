/**
 * Named benchmark steps with a time limit each: a step that does not finish in time fails the run
 * with the step's name and how long it ran, instead of leaving a silent process (the storage
 * benchmark once printed "making a 64 MiB image…" and nothing more). Each step logs its start and
 * duration to stderr.
 */
import { performance } from 'node:perf_hooks';

export class StepTimeoutError extends Error {
  constructor(
    readonly step: string,
    readonly limitSeconds: number,
  ) {
    super(`benchmark step "${step}" did not finish within ${limitSeconds} s`);
    this.name = 'StepTimeoutError';
  }
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Runs fn as the step `name`; rejects with StepTimeoutError after `limitSeconds`. */
export async function step<T>(name: string, limitSeconds: number, fn: () => Promise<T> | T): Promise<T> {
  log(`${name}…`);
  const t = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(name, limitSeconds)), limitSeconds * 1000);
  });
  try {
    const out = await Promise.race([Promise.resolve().then(fn), limit]);
    log(`${name}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends a benchmark's main: prints the error (naming the step that stopped it) and exits non-zero
 * at once, since a timed-out step may still hold sockets or child processes open.
 */
export function finish(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
