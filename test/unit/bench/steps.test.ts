/**
 * Benchmark steps have a time limit that names the step where a run stopped (the storage benchmark
 * once hung silently after "making a 64 MiB image…").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { step, StepTimeoutError } from '../../../bench/support/steps.js';

test('a step over its time limit rejects naming the step', async () => {
  const never = new Promise<void>(() => undefined);
  await assert.rejects(
    step('deleting the imported volume', 0.05, () => never),
    (err: Error) =>
      err instanceof StepTimeoutError &&
      err.message === 'benchmark step "deleting the imported volume" did not finish within 0.05 s',
  );
});

test('a step in time returns its value, and a failing step its error', async () => {
  assert.equal(await step('quick', 5, () => 42), 42);
  await assert.rejects(
    step('failing', 5, () => Promise.reject(new Error('curl failed'))),
    /curl failed/,
  );
});
