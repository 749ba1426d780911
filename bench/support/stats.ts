/**
 * What every benchmark needs: its knobs from the environment, order statistics over samples (NaN
 * samples are left out), and rounding for the report.
 */

/** A whole number ≥ 1 from the environment variable `name` (counts, seconds), or `fallback`. */
export const env = (name: string, fallback: number): number => {
  const v = Math.floor(Number(process.env[name] ?? ''));
  return Number.isFinite(v) && v >= 1 ? v : fallback;
};

const sorted = (xs: readonly number[]): number[] => xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);

/** Nearest-rank percentile (p in 0–100); NaN for no samples. */
export function pct(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** The middle sample, or the mean of the two middle ones; NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

/** `x` rounded to `digits` decimals. */
export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
export const r0 = (x: number): number => round(x, 0);
export const r1 = (x: number): number => round(x, 1);
export const r2 = (x: number): number => round(x, 2);
