/**
 * Durations as written in manifests. KubeVirt's `failureDeadline` is a metav1.Duration, Go's
 * time.ParseDuration syntax (`5m`, `1h30m`, `90s`, `500ms`); retention ages add days (`7d`,
 * `1d12h`) and weeks (`2w`), which Go's syntax lacks and a retention policy needs.
 */

const GO_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const LONG_UNITS: Readonly<Record<string, number>> = { ...GO_UNITS, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, or undefined when `text` is not a duration. Negative durations are refused. */
export function parseDuration(text: string, options: { days?: boolean } = {}): number | undefined {
  const units = options.days === true ? LONG_UNITS : GO_UNITS;
  if (text === '0') return 0;
  const term = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)/gy;
  let total = 0;
  let pos = 0;
  for (;;) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (m === null) break;
    const scale = units[m[2] ?? ''];
    if (scale === undefined) return undefined;
    total += Number(m[1]) * scale;
    pos = term.lastIndex;
  }
  return pos === text.length && pos > 0 ? total : undefined;
}

/** `7d`, `36h`, `90m`: the shortest exact form for messages. */
export function formatDuration(ms: number): string {
  for (const [unit, scale] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= scale && ms % scale === 0) return `${ms / scale}${unit}`;
  }
  return `${ms}ms`;
}
