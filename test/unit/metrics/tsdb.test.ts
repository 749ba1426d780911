/**
 * The history store with injected time: raw rows and 5-minute rollups give the same sums and
 * averages, counter resets are not negative rates, history survives a reopen, retention and the
 * size bound drop the oldest data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeValues, encodeValues } from '../../../src/metrics/codec.js';
import type { VmSample } from '../../../src/metrics/sample.js';
import { MetricsStore } from '../../../src/metrics/tsdb.js';

const dir = mkdtempSync(join(tmpdir(), 'hikube-tsdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const path = (): string => join(dir, `m${n++}.db`);

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

/** A VM whose disk writes 1000 bytes per second and whose memory alternates 100 and 300. */
function sample(t: number, i: number, extra: Partial<VmSample> = {}): VmSample {
  return {
    namespace: 'default',
    name: 'vm1',
    uid: 'u1',
    t,
    series: [
      {
        name: 'kubevirt_vmi_storage_write_traffic_bytes_total',
        type: 'counter',
        labels: { drive: 'root' },
        value: i * 10_000,
      },
      {
        name: 'kubevirt_vmi_memory_resident_bytes',
        type: 'gauge',
        labels: {},
        value: i % 2 === 0 ? 100 : 300,
      },
      { name: 'kubevirt_vmi_cpu_usage_seconds_total', type: 'counter', labels: {}, value: i * 0.25 },
    ],
    ...extra,
  };
}

function fill(store: MetricsStore, from: number, count: number, offset = 0): number {
  let t = from;
  for (let i = 0; i < count; i++, t += 10_000) {
    store.append([sample(t, i + offset)]);
    store.maintain(t);
  }
  return t;
}

const only = (
  store: MetricsStore,
  metric: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  now: number,
) =>
  store.query({ namespace: 'default', name: 'vm1', metrics: [metric], startMs, endMs, stepMs }, now)[0]
    ?.points ?? [];

describe('codec', () => {
  test('integers, thousandths and floats round-trip; small counters take few bytes', () => {
    const values = [0, 1, -1, 127, 128, 2 ** 40, -(2 ** 45), 2.39, 0.001, 1 / 3, 2 ** 60, -0.5, 1e-9, NaN];
    const decoded = decodeValues(encodeValues(values));
    assert.equal(decoded.length, values.length);
    values.forEach((v, i) =>
      Number.isNaN(v) ? assert.ok(Number.isNaN(decoded[i])) : assert.equal(decoded[i], v),
    );
    assert.equal(encodeValues([0, 5, 15]).length, 3);
    assert.ok(encodeValues([123_456_789]).length <= 5);
  });
});

describe('MetricsStore', () => {
  test('5-minute rollups keep counter increases and gauge averages exactly as the raw rows give them', () => {
    const store = new MetricsStore(path());
    const end = fill(store, T0, 360); // one hour at 10 s
    const now = end;
    const metric = 'kubevirt_vmi_storage_write_traffic_bytes_total';
    // Raw, 1-minute steps: 1000 bytes/s everywhere after the first sample.
    const raw = only(store, metric, T0, end, MIN, now);
    assert.equal(raw.length, 60);
    for (const [, v] of raw.slice(1)) assert.equal(v, 1000);
    // 5-minute steps come from the rollups: the same rate, and the same total increase.
    const coarse = store.query(
      {
        namespace: 'default',
        name: 'vm1',
        metrics: [metric],
        startMs: T0,
        endMs: end,
        stepMs: 5 * MIN,
        fn: 'increase',
      },
      now,
    )[0]?.points;
    const fine = store.query(
      {
        namespace: 'default',
        name: 'vm1',
        metrics: [metric],
        startMs: T0,
        endMs: end,
        stepMs: 10_000,
        fn: 'increase',
      },
      now,
    )[0]?.points;
    const total = (pts: [number, number][] | undefined): number => (pts ?? []).reduce((a, [, v]) => a + v, 0);
    assert.equal(total(coarse), 359 * 10_000);
    assert.equal(total(coarse), total(fine));
    // Gauge: average 200 in every 5-minute bucket (30 samples, alternating 100 and 300), min and max kept.
    const avg = only(store, 'kubevirt_vmi_memory_resident_bytes', T0, end, 5 * MIN, now);
    assert.equal(avg.length, 12);
    for (const [, v] of avg) assert.equal(v, 200);
    const max = store.query(
      {
        namespace: 'default',
        name: 'vm1',
        metrics: ['kubevirt_vmi_memory_resident_bytes'],
        startMs: T0,
        endMs: end,
        stepMs: 30 * MIN,
        fn: 'max',
      },
      now,
    )[0]?.points;
    assert.deepEqual(
      max?.map(([, v]) => v),
      [300, 300],
    );
    // A 15-minute step merges three rollups: the weighted average is still 200, the rate still 1000/s.
    for (const [, v] of only(store, 'kubevirt_vmi_memory_resident_bytes', T0, end, 15 * MIN, now))
      assert.equal(v, 200);
    const rates = only(store, metric, T0, end, 15 * MIN, now);
    assert.equal(rates.length, 4);
    assert.ok(Math.abs((rates[1]?.[1] ?? 0) - 1000) < 1e-9);
    store.close();
  });

  test('after raw retention, old ranges are answered from the rollups alone', () => {
    const store = new MetricsStore(path(), { rawRetentionMs: 30 * MIN });
    const end = fill(store, T0, 360);
    const metric = 'kubevirt_vmi_cpu_usage_seconds_total';
    // Raw rows of the first half hour are gone; a fine query of it finds nothing.
    assert.deepEqual(only(store, metric, T0, T0 + 20 * MIN, 10_000, end), []);
    const coarse =
      store.query(
        {
          namespace: 'default',
          name: 'vm1',
          metrics: [metric],
          startMs: T0,
          endMs: end,
          stepMs: 5 * MIN,
          fn: 'increase',
        },
        end,
      )[0]?.points ?? [];
    assert.equal(coarse.length, 12);
    assert.ok(Math.abs(coarse.reduce((a, [, v]) => a + v, 0) - 359 * 0.25) < 1e-9);
    store.close();
  });

  test('a counter reset (the VM restarted) counts from zero instead of going negative', () => {
    const store = new MetricsStore(path());
    let t = fill(store, T0, 30);
    t = fill(store, t, 30, 0); // the counters start again at 0
    const pts = store.query(
      {
        namespace: 'default',
        name: 'vm1',
        metrics: ['kubevirt_vmi_storage_write_traffic_bytes_total'],
        startMs: T0,
        endMs: t,
        stepMs: 10 * MIN,
        fn: 'increase',
      },
      t,
    )[0]?.points;
    assert.deepEqual(
      pts?.map(([, v]) => v),
      [29 * 10_000 + 29 * 10_000],
    );
    store.close();
  });

  test('history survives closing and reopening the file, and downsampling picks up where it stopped', () => {
    const file = path();
    let store = new MetricsStore(file);
    const mid = fill(store, T0, 180);
    store.close();
    store = new MetricsStore(file);
    const end = fill(store, mid, 180, 180);
    const coarse =
      store.query(
        {
          namespace: 'default',
          name: 'vm1',
          metrics: ['kubevirt_vmi_storage_write_traffic_bytes_total'],
          startMs: T0,
          endMs: end,
          stepMs: 5 * MIN,
          fn: 'increase',
        },
        end,
      )[0]?.points ?? [];
    assert.equal(
      coarse.reduce((a, [, v]) => a + v, 0),
      359 * 10_000,
    );
    assert.deepEqual(store.metricNames('default', 'vm1'), [
      'kubevirt_vmi_cpu_usage_seconds_total',
      'kubevirt_vmi_memory_resident_bytes',
      'kubevirt_vmi_storage_write_traffic_bytes_total',
    ]);
    store.close();
  });

  test('label filters pick one series; series appearing later get their own layout', () => {
    const store = new MetricsStore(path());
    store.append([sample(T0, 0)]);
    const extra = sample(T0 + 10_000, 1);
    extra.series.push({
      name: 'kubevirt_vmi_storage_write_traffic_bytes_total',
      type: 'counter',
      labels: { drive: 'data' },
      value: 7,
    });
    store.append([extra]);
    const r = store.query(
      {
        namespace: 'default',
        name: 'vm1',
        metrics: ['kubevirt_vmi_storage_write_traffic_bytes_total'],
        startMs: T0,
        endMs: T0 + 20_000,
        stepMs: 10_000,
        fn: 'last',
        labels: { drive: 'data' },
      },
      T0 + 20_000,
    );
    assert.deepEqual(r, [
      {
        metric: 'kubevirt_vmi_storage_write_traffic_bytes_total',
        type: 'counter',
        labels: { drive: 'data' },
        points: [[(T0 + 10_000) / 1000, 7]],
      },
    ]);
    store.close();
  });

  test('the file stays under maxBytes: when full, the oldest history goes', () => {
    const store = new MetricsStore(path(), { maxBytes: 512 * 1024, rawRetentionMs: 365 * 24 * 60 * MIN });
    const many = (t: number, i: number): VmSample[] =>
      Array.from({ length: 20 }, (_, k) => ({ ...sample(t, i), name: `vm${k}`, uid: `u${k}` }));
    let t = T0;
    for (let i = 0; i < 3000; i++, t += 10_000) store.append(many(t, i));
    assert.ok(store.sizeBytes() <= 512 * 1024, `size ${store.sizeBytes()}`);
    const pts = only(store, 'kubevirt_vmi_memory_resident_bytes', T0, t, 10_000, t);
    assert.ok(pts.length > 100 && pts.length < 3000, `kept ${pts.length}`);
    assert.equal(pts.at(-1)?.[0], (t - 10_000) / 1000, 'the newest samples are kept');
    store.close();
  });
});
