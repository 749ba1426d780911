/**
 * Whole-address load balancers: the address they get (their own, never 127.0.0.1, and no other
 * load balancer shares it), the nftables script, and reading a connection's original port from a
 * conntrack listing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Service } from '../../../src/api/core/service.js';
import {
  pickLoadBalancerAddress,
  usedLoadBalancerPorts,
  WHOLE_IP_ANNOTATION,
} from '../../../src/controllers/service/allocate.js';
import { findOriginalPort, natTableName, renderRuleset } from '../../../src/network/nat.js';

const lb = (uid: string, port: number, opts: { ip?: string; whole?: boolean } = {}): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: uid,
    uid,
    ...(opts.whole === true ? { annotations: { [WHOLE_IP_ANNOTATION]: 'true' } } : {}),
  },
  spec: { type: 'LoadBalancer', ports: [{ port, protocol: 'TCP' }] },
  ...(opts.ip !== undefined ? { status: { loadBalancer: { ingress: [{ ip: opts.ip }] } } } : {}),
});

describe('whole-IP load balancer addresses', () => {
  const pool = ['127.0.0.1', '127.77.0.1', '127.77.0.2'];

  test('a whole-IP service takes an address nobody uses, never 127.0.0.1', () => {
    const used = usedLoadBalancerPorts([lb('a', 80, { ip: '127.77.0.1' })], 'w');
    assert.equal(pickLoadBalancerAddress(lb('w', 22, { whole: true }), pool, used), '127.77.0.2');
    assert.equal(
      pickLoadBalancerAddress(lb('w', 22, { whole: true }), ['127.0.0.1'], new Map()),
      undefined,
      'the host loopback is never taken whole',
    );
    const full = usedLoadBalancerPorts(
      [lb('a', 80, { ip: '127.77.0.1' }), lb('b', 81, { ip: '127.77.0.2' })],
      'w',
    );
    assert.equal(pickLoadBalancerAddress(lb('w', 22, { whole: true }), pool, full), undefined);
  });

  test('other load balancers keep off an address taken whole, even with free ports', () => {
    const used = usedLoadBalancerPorts([lb('w', 22, { ip: '127.77.0.1', whole: true })], 'b');
    assert.equal(pickLoadBalancerAddress(lb('b', 80), ['127.77.0.1', '127.77.0.2'], used), '127.77.0.2');
    assert.equal(pickLoadBalancerAddress(lb('b', 80, { ip: '127.77.0.1' }), ['127.77.0.1'], used), undefined);
  });
});

describe('the NAT of whole-IP addresses', () => {
  test('one table per data dir, replaced whole; every other TCP port to the listening one', () => {
    const table = natTableName('/var/lib/hikube');
    assert.match(table, /^hikube_[0-9a-f]{8}$/);
    assert.notEqual(natTableName('/other'), table);
    const script = renderRuleset(table, [{ address: '127.77.0.1', port: 40001, udpPort: 40002 }]);
    assert.match(script, new RegExp(`^table ip ${table}\\ndelete table ip ${table}\\n`));
    assert.match(script, /type nat hook output priority -100/);
    assert.match(script, /ip daddr 127\.77\.0\.1 tcp dport != 40001 dnat to 127\.77\.0\.1:40001/);
    assert.match(script, /ip daddr 127\.77\.0\.1 udp dport != 40002 dnat to 127\.77\.0\.1:40002/);
    assert.equal(renderRuleset(table, []), `table ip ${table}\ndelete table ip ${table}\n`, 'empty: removed');
  });

  test('the original port of a connection, from its conntrack entry', () => {
    const listing = [
      'ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.53 sport=5353 dport=53 src=127.0.0.53 dst=127.0.0.1 sport=53 dport=5353 mark=0 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.77.0.1 sport=51000 dport=8081 src=127.77.0.1 dst=127.0.0.1 sport=40001 dport=51000 [ASSURED] mark=0 zone=0 use=2',
      'ipv4     2 udp      17 29 src=127.0.0.1 dst=127.77.0.1 sport=40100 dport=9001 [UNREPLIED] src=127.77.0.1 dst=127.0.0.1 sport=40002 dport=40100 mark=0 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.77.0.1 sport=51002 dport=22 src=127.77.0.1 dst=127.0.0.1 sport=40001 dport=51002 [ASSURED] mark=0 zone=0 use=2',
    ].join('\n');
    assert.equal(findOriginalPort(listing, 'tcp', '127.0.0.1', 51000, '127.77.0.1', 40001), 8081);
    assert.equal(findOriginalPort(listing, 'tcp', '127.0.0.1', 51002, '127.77.0.1', 40001), 22);
    assert.equal(findOriginalPort(listing, 'tcp', '127.0.0.1', 51003, '127.77.0.1', 40001), undefined);
    assert.equal(findOriginalPort(listing, 'udp', '127.0.0.1', 40100, '127.77.0.1', 40002), 9001);
    assert.equal(
      findOriginalPort(listing, 'udp', '127.0.0.1', 51000, '127.77.0.1', 40001),
      undefined,
      'not TCP',
    );
  });
});
