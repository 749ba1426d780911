/** Tap counters as the guest sees them, from `ip -s -j link show` output. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guestView, parseIpLinkStats } from '../../../src/network/counters.js';

describe('NIC counters from taps', () => {
  test('ip -s -j output is parsed per link; links without stats are left out', () => {
    const json = JSON.stringify([
      { ifname: 'lo', stats64: { rx: { bytes: 1, packets: 1 }, tx: { bytes: 1, packets: 1 } } },
      {
        ifname: 'hkabc',
        stats64: {
          rx: { bytes: 100, packets: 2, errors: 0, dropped: 1 },
          tx: { bytes: 5000, packets: 7, errors: 3, dropped: 0 },
        },
      },
      { ifname: 'br0' },
    ]);
    const stats = parseIpLinkStats(json);
    assert.deepEqual([...stats.keys()], ['lo', 'hkabc']);
    assert.deepEqual(stats.get('lo')?.rx, { bytes: 1, packets: 1, errors: 0, dropped: 0 });
  });

  test('what the tap sends is what the guest receives, and the other way round', () => {
    const c = guestView(
      { bytes: 100, packets: 2, errors: 0, dropped: 1 },
      { bytes: 5000, packets: 7, errors: 3, dropped: 0 },
    );
    assert.deepEqual(c, {
      rxBytes: 5000,
      txBytes: 100,
      rxPackets: 7,
      txPackets: 2,
      rxErrors: 3,
      txErrors: 0,
      rxDropped: 0,
      txDropped: 1,
    });
  });
});
