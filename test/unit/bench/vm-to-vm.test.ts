/**
 * The VM-to-VM benchmark's arithmetic (bench/support/vm-to-vm.ts): a path's rate is taken over the
 * steady part of its bursts only, whatever the sampler's timing, and a stalled step names itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pathRate, step, type Sample } from '../../../bench/support/vm-to-vm.js';

/** Samples at the given times (ms) with per-interval byte deltas for path `a` (and `b` idle). */
function series(times: number[], deltas: number[]): Sample[] {
  let a = 1000;
  return times.map((t, i) => {
    a += i === 0 ? 0 : (deltas[i - 1] ?? 0);
    return { t, bytes: { a, b: 7 } };
  });
}

describe('pathRate', () => {
  test('edges of each burst are left out; the rest is bytes over time', () => {
    // Two bursts: ramp 150, steady 1000/s for 2 s, tail 300; idle; ramp 200, steady 2000 over 1 s, tail 150.
    const times = [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000];
    const deltas = [150, 1000, 1000, 300, 0, 0, 200, 2000, 150];
    const r = pathRate(series(times, deltas), 'a');
    assert.equal(r.bursts, 2);
    assert.equal(r.seconds, 3);
    assert.equal(r.bytesPerSecond, 4000 / 3);
  });

  test('uneven sampling: a late sample is weighed by its own duration', () => {
    // Steady 1000 bytes/s throughout, sampled at 0.5 s and 1.5 s spacings.
    const times = [0, 1000, 1500, 3000, 3500, 4500];
    const deltas = [1000, 500, 1500, 500, 1000];
    assert.equal(pathRate(series(times, deltas), 'a').bytesPerSecond, 1000);
  });

  test('a path that never moved has no rate; a few packets are not a burst', () => {
    const idle = pathRate(series([0, 1000, 2000, 3000], [0, 0, 0]), 'b');
    assert.ok(Number.isNaN(idle.bytesPerSecond));
    assert.equal(idle.bursts, 0);
    const arp = pathRate(series([0, 1000, 2000, 3000, 4000, 5000], [42, 0, 5000, 5000, 5000]), 'a');
    assert.equal(arp.bursts, 1);
    assert.equal(arp.bytesPerSecond, 5000);
  });
});

test('a step that does not finish in time says where it stopped', async () => {
  await assert.rejects(
    step('wait for the guest', 50, () => new Promise<never>(() => undefined)),
    /stopped at step "wait for the guest"/,
  );
  assert.equal(await step('quick', 1000, () => Promise.resolve(3)), 3);
});
