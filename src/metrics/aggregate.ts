/**
 * The arithmetic of history, shared by downsampling and queries so both give the same answers:
 * per series and time window, a gauge keeps sum, count, min and max (so averages of averages are
 * weighted right), and a counter keeps the last value and its increase (the sum of the rises
 * between consecutive samples, a fall counting as a reset to zero, as Prometheus' increase()).
 */

export interface Acc {
  /** Gauges. */
  sum: number;
  count: number;
  min: number;
  max: number;
  /** Counters. */
  increase: number;
  last: number;
}

export const emptyAcc = (): Acc => ({
  sum: 0,
  count: 0,
  min: Infinity,
  max: -Infinity,
  increase: 0,
  last: NaN,
});

export function addGauge(a: Acc, v: number): void {
  a.sum += v;
  a.count++;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  a.last = v;
}

/** `previous` is the series' value in the sample before this one, if it had one. */
export function addCounter(a: Acc, v: number, previous: number | undefined): void {
  if (previous !== undefined) a.increase += v >= previous ? v - previous : v;
  a.count++;
  a.last = v;
}

/** Folds a finished accumulator (a downsampled bucket) into a wider one. */
export function merge(into: Acc, from: Acc): void {
  into.sum += from.sum;
  into.count += from.count;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
  into.increase += from.increase;
  if (!Number.isNaN(from.last)) into.last = from.last;
}

export type Fn = 'avg' | 'min' | 'max' | 'last' | 'rate' | 'increase';

export function valueOf(a: Acc, fn: Fn, windowSeconds: number): number | undefined {
  if (a.count === 0) return undefined;
  switch (fn) {
    case 'avg':
      return a.sum / a.count;
    case 'min':
      return a.min;
    case 'max':
      return a.max;
    case 'last':
      return a.last;
    case 'increase':
      return a.increase;
    case 'rate':
      return a.increase / windowSeconds;
  }
}

/** Stored form of a downsampled bucket: gauges [sum, count, min, max], counters [last, increase, count]. */
export function packAcc(a: Acc, counter: boolean): number[] {
  return counter ? [a.last, a.increase, a.count] : [a.sum, a.count, a.min, a.max];
}

export function unpackAcc(
  values: readonly number[],
  at: number,
  counter: boolean,
): { acc: Acc; next: number } {
  const acc = emptyAcc();
  if (counter) {
    acc.last = values[at] ?? NaN;
    acc.increase = values[at + 1] ?? 0;
    acc.count = values[at + 2] ?? 0;
    return { acc, next: at + 3 };
  }
  acc.sum = values[at] ?? 0;
  acc.count = values[at + 1] ?? 0;
  acc.min = values[at + 2] ?? Infinity;
  acc.max = values[at + 3] ?? -Infinity;
  acc.last = acc.count > 0 ? acc.sum / acc.count : NaN;
  return { acc, next: at + 4 };
}
