/**
 * The nft script of the Services' kernel path, as text: deterministic (sorted by service), one
 * DNAT chain per backend, numgen over several, a plain goto for one, affinity sets only with
 * sessionAffinity, frontends without backends in the reject set, names nft accepts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderServiceRuleset, type KernelService } from '../../../src/network/services/ruleset.js';

const svc = (key: string, backends: number, affinitySeconds?: number): KernelService => ({
  key,
  ...(affinitySeconds !== undefined ? { affinitySeconds } : {}),
  ports: [
    {
      protocol: 'tcp',
      frontends: [{ address: '10.96.0.5', port: 80 }],
      backends: Array.from({ length: backends }, (_, i) => ({ ip: `10.244.0.${i + 2}`, port: 8080 })),
    },
  ],
});
const render = (services: KernelService[]): string =>
  renderServiceRuleset({ table: 'hkabc_svc', gateway: '10.244.0.1', services });

describe('service ruleset', () => {
  test('replaces the whole table, and is the same whatever the order of services', () => {
    const one = render([svc('b/x', 1), svc('a/y', 2)]);
    assert.equal(one, render([svc('a/y', 2), svc('b/x', 1)]));
    assert.match(one, /^table ip hkabc_svc\ndelete table ip hkabc_svc\ntable ip hkabc_svc \{\n/);
    assert.ok(one.indexOf('comment "a/y"') < one.indexOf('comment "b/x"'));
  });

  test('spreads at random over several backends, goes straight to a single one', () => {
    const text = render([svc('ns/two', 2), svc('ns/one', 1)]);
    assert.match(text, /numgen random mod 2 vmap \{ 0 : goto svc1_0_ep0, 1 : goto svc1_0_ep1 \}/);
    assert.match(text, /chain svc0_0 \{\n {4}goto svc0_0_ep0\n/);
    assert.match(text, /meta l4proto tcp dnat to 10\.244\.0\.3:8080/);
    assert.match(text, /ip saddr 10\.244\.0\.2 meta mark set meta mark \| 0x10000000/);
  });

  test('sessionAffinity ClientIP: a timed set per backend, checked first, refreshed on use', () => {
    const plain = render([svc('ns/a', 2)]);
    assert.doesNotMatch(plain, /flags dynamic,timeout/);
    const sticky = render([svc('ns/a', 2, 90)]);
    assert.match(sticky, /set svc0_0_aff1 \{\n {4}type ipv4_addr; flags dynamic,timeout;\n {4}timeout 90s;/);
    assert.match(
      sticky,
      /ip saddr @svc0_0_aff0 goto svc0_0_ep0\n {4}ip saddr @svc0_0_aff1 goto svc0_0_ep1\n {4}numgen/,
    );
    assert.match(sticky, /update @svc0_0_aff1 \{ ip saddr \}/);
  });

  test('a frontend without backends is rejected, not sent anywhere', () => {
    const text = render([svc('ns/empty', 0)]);
    assert.match(text, /elements = \{ 10\.96\.0\.5 \. tcp \. 80 \}/);
    assert.doesNotMatch(text, /goto svc0_0/);
    assert.doesNotMatch(render([svc('ns/a', 1)]), /no_endpoints/);
  });

  test('a comment cannot break out of its quotes', () => {
    const text = render([svc('ns/a"; flush ruleset; "', 1)]);
    assert.match(text, /comment "ns\/a___flush_ruleset___"/);
  });
});
