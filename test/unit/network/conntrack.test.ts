/**
 * Which UDP flows are deleted when a Service's backends change (src/network/services/conntrack.ts):
 * exactly the frontend → backend pairs that are gone, UDP only, nothing on the first apply.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  conntrackDeleteArgs,
  goneUdpFlows,
  nothingMatched,
} from '../../../src/network/services/conntrack.js';
import type { KernelService, ServiceRuleset } from '../../../src/network/services/ruleset.js';

const ruleset = (udp: string[], tcp: string[] = udp): ServiceRuleset => {
  const backends = (ips: string[]) => ips.map((ip) => ({ ip, port: 5353 }));
  const services: KernelService[] = [
    {
      key: 'default/dns',
      ports: [
        {
          protocol: 'udp',
          frontends: [
            { address: '10.96.0.53', port: 53 },
            { address: '127.0.0.1', port: 30053 },
          ],
          backends: backends(udp),
        },
        { protocol: 'tcp', frontends: [{ address: '10.96.0.53', port: 53 }], backends: backends(tcp) },
      ],
    },
  ];
  return { table: 'hk_svc', gateway: '10.244.0.1', services };
};

test('a backend that leaves: its flows from every UDP frontend, and nothing of TCP', () => {
  const gone = goneUdpFlows(ruleset(['10.244.0.2', '10.244.0.3']), ruleset(['10.244.0.3'], []));
  assert.deepEqual(gone, [
    { frontend: { address: '10.96.0.53', port: 53 }, backend: { ip: '10.244.0.2', port: 5353 } },
    { frontend: { address: '127.0.0.1', port: 30053 }, backend: { ip: '10.244.0.2', port: 5353 } },
  ]);
  assert.deepEqual(conntrackDeleteArgs(gone[0] ?? assert.fail('no flow')), [
    '-D',
    '-p',
    'udp',
    '--orig-dst',
    '10.96.0.53',
    '--orig-port-dst',
    '53',
    '--reply-src',
    '10.244.0.2',
    '--reply-port-src',
    '5353',
  ]);
});

test('nothing to delete: first apply, same backends, a backend added, a whole Service removed', () => {
  assert.deepEqual(goneUdpFlows(undefined, ruleset(['10.244.0.2'])), []);
  assert.deepEqual(goneUdpFlows(ruleset(['10.244.0.2']), ruleset(['10.244.0.2'])), []);
  assert.deepEqual(goneUdpFlows(ruleset(['10.244.0.2']), ruleset(['10.244.0.2', '10.244.0.4'])), []);
  const removed = goneUdpFlows(ruleset(['10.244.0.2']), { ...ruleset([]), services: [] });
  assert.equal(removed.length, 2, 'a removed Service takes its flows with it');
});

test('conntrack finding nothing is not a failure', () => {
  assert.ok(nothingMatched('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.'));
  assert.ok(!nothingMatched('conntrack v1.4.7 (conntrack-tools): Operation not permitted'));
});
