/**
 * What a guest agent's report changes in a VMI's status interfaces: on the pod network the pod
 * interface keeps its pod IP (the address Services and NetworkPolicy read), while other NICs, and
 * the default NIC on user networking, take the guest's addresses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeGuestNic, type StatusNic } from '../../../src/node/guestinfo.js';

const seen = { name: 'eth0', mac: '02:00:00:00:00:01', ips: ['10.0.2.2', 'fe80::1'] };

test('the pod interface keeps its pod IP when the guest agent reports 10.0.2.2', () => {
  const nic: StatusNic = { mac: seen.mac, ipAddress: '10.244.0.7', ipAddresses: ['10.244.0.7'] };
  mergeGuestNic(nic, seen, '10.244.0.7');
  assert.deepEqual(nic, {
    mac: seen.mac,
    interfaceName: 'eth0',
    ipAddress: '10.244.0.7',
    ipAddresses: ['10.244.0.7'],
    infoSource: 'domain, guest-agent',
  });
});

test('without a pod IP (user networking, secondary NICs) the guest agent addresses are shown', () => {
  const nic: StatusNic = { mac: seen.mac, ipAddress: '10.0.2.15', ipAddresses: ['10.0.2.15'] };
  mergeGuestNic(nic, seen);
  assert.equal(nic.ipAddress, '10.0.2.2');
  assert.deepEqual(nic.ipAddresses, ['10.0.2.2', 'fe80::1']);
  assert.equal(nic.interfaceName, 'eth0');
});

test('a NIC the guest has no address on keeps its first address but lists none', () => {
  const nic: StatusNic = { mac: seen.mac, ipAddress: '192.168.1.5' };
  mergeGuestNic(nic, { ...seen, ips: [] });
  assert.equal(nic.ipAddress, '192.168.1.5');
  assert.deepEqual(nic.ipAddresses, []);
});
