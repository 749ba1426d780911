/**
 * Host settings given back (src/network/host-sysctls.ts), on a sysctl tree of the test's own: the
 * value before our first change is recorded once (a crash and a second set do not lose it), and
 * restored only when no other platform still runs a pod network.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SysctlLedger } from '../../../src/network/host-sysctls.js';

const root = mkdtempSync(join(tmpdir(), 'hikube-sysctl-'));
after(() => rmSync(root, { recursive: true, force: true }));
const proc = join(root, 'proc');
mkdirSync(join(proc, 'net', 'ipv4', 'conf', 'all'), { recursive: true });
const value = (key: string): string => readFileSync(join(proc, ...key.split('.')), 'utf8').trim();
const put = (key: string, v: string): void => writeFileSync(join(proc, ...key.split('.')), `${v}\n`);
const FWD = 'net.ipv4.ip_forward';
const LOCALNET = 'net.ipv4.conf.all.route_localnet';

test('recorded before the change, once; given back at the end', () => {
  put(FWD, '0');
  put(LOCALNET, '0');
  const file = join(root, 'a.json');
  const ledger = new SysctlLedger(() => false, file, proc);
  ledger.set(FWD, '1');
  ledger.set(LOCALNET, '1');
  assert.equal(value(FWD), '1');
  // A crashed run's successor: the setting is ours already, the record keeps the admin's value.
  const next = new SysctlLedger(() => false, file, proc);
  next.set(FWD, '1');
  assert.deepEqual(next.recorded(), { [FWD]: '0', [LOCALNET]: '0' });
  assert.equal(next.restore(FWD), true);
  assert.equal(value(FWD), '0');
  assert.equal(next.restore(LOCALNET), true);
  assert.equal(value(LOCALNET), '0');
  assert.deepEqual(next.recorded(), {});
  assert.equal(next.restore(FWD), false, 'nothing recorded: nothing to give back');
});

test('a setting the host already had is not recorded, so never turned off', () => {
  put(FWD, '1');
  const ledger = new SysctlLedger(() => false, join(root, 'b.json'), proc);
  ledger.set(FWD, '1');
  assert.equal(existsSync(join(root, 'b.json')), false);
  assert.equal(ledger.restore(FWD), false);
  assert.equal(value(FWD), '1');
});

test('while another platform runs a pod network, the last one out restores', () => {
  put(FWD, '0');
  let others = true;
  const file = join(root, 'c.json');
  const first = new SysctlLedger(() => others, file, proc);
  first.set(FWD, '1');
  assert.equal(first.restore(FWD), false);
  assert.equal(value(FWD), '1', 'the other platform still forwards');
  others = false;
  assert.equal(new SysctlLedger(() => others, file, proc).restore(FWD), true);
  assert.equal(value(FWD), '0');
});
