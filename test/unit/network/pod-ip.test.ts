/**
 * A VMI's pod IP as Services and cluster DNS read it: only a plain dotted IPv4 address passes, so a
 * status holding anything else cannot put text into an nftables rule or a DNS answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/vmi.js';
import { podIpOf } from '../../../src/network/services/pods.js';

const vmiWith = (ipAddress: unknown): VirtualMachineInstance =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'v', namespace: 'default' },
    spec: { domain: { devices: {} } },
    status: { interfaces: [{ name: 'default', ipAddress }] },
  }) as unknown as VirtualMachineInstance;

test('a pod IP is a plain IPv4 address or nothing', () => {
  assert.equal(podIpOf(vmiWith('10.244.0.7')), '10.244.0.7');
  for (const bad of [
    '10.244.0.7; flush ruleset',
    '10.244.0.7\nadd rule ip filter input accept',
    ' 10.244.0.7',
    '10.244.0.07',
    '10.244.0.256',
    'fd00::1',
    '',
    42,
    undefined,
  ])
    assert.equal(podIpOf(vmiWith(bad)), undefined, JSON.stringify(bad));
});
