/** Durations (`10s`, `5m`, `1h30m`, `7d`) and instants (unix seconds, RFC 3339, or `now-1h`) in queries and flags. */

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * (UNITS[m[2] ?? ''] ?? 0);
    consumed = m.index + m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

/** Milliseconds since the epoch, or undefined. */
export function parseInstant(text: string, now: number): number | undefined {
  if (text === 'now') return now;
  if (text.startsWith('now-')) {
    const d = parseDuration(text.slice(4));
    return d === undefined ? undefined : now - d;
  }
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}
