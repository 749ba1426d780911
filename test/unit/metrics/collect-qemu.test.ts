/**
 * collectQemu against a scripted QMP: what it asks, and that a QEMU going away in the middle of a
 * round is one rejection for the caller, never an unhandled one (the collector runs beside the guests).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectQemu, type Qmp } from '../../../src/metrics/qemu.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('collectQemu', () => {
  test('a failing query-blockstats while the balloon is being set up rejects the round and nothing else', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const qmp: Qmp = async <T>(name: string): Promise<T> => {
        if (name === 'query-memory-size-summary') return { 'base-memory': 64 << 20 } as T;
        if (name === 'qom-set') {
          await delay(50);
          throw new Error('QMP connection closed');
        }
        throw new Error(`QMP connection closed during ${name}`);
      };
      await assert.rejects(collectQemu(qmp, {}, 10), /query-blockstats/);
      await delay(20);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('with the balloon driver, block and balloon statistics come from one round', async () => {
    const asked: string[] = [];
    const qmp: Qmp = async <T>(name: string): Promise<T> => {
      await Promise.resolve();
      asked.push(name);
      if (name === 'query-memory-size-summary') return { 'base-memory': 64 << 20 } as T;
      if (name === 'query-blockstats')
        return [
          {
            device: '',
            qdev: '/machine/peripheral/disk-root/virtio-backend',
            stats: { rd_bytes: 1, wr_bytes: 2, rd_operations: 3, wr_operations: 4, flush_operations: 5 },
          },
        ] as T;
      if (name === 'qom-get') return { stats: { 'stat-total-memory': 1000 }, 'last-update': 1 } as T;
      return {} as T;
    };
    const state = {};
    const series = await collectQemu(qmp, state, 10);
    assert.deepEqual(asked, ['query-memory-size-summary', 'qom-set', 'query-blockstats', 'qom-get']);
    assert.ok(series.some((s) => s.name === 'kubevirt_vmi_memory_domain_bytes' && s.value === 64 << 20));
    assert.ok(series.some((s) => s.name === 'kubevirt_vmi_memory_available_bytes' && s.value === 1000));
    assert.ok(series.some((s) => s.name.startsWith('kubevirt_vmi_storage_')));
  });
});
