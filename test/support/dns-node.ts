/**
 * Cluster DNS as a child process for tests that must reach it from fake pods: started with
 * `ip netns exec NODE node dns-node.js ADDRESS UPSTREAM_HOST:PORT`, it serves ClusterDns on
 * ADDRESS:53 inside the fake node namespace over the objects it reads from stdin (one JSON line
 * `{services, vmis}` per change, so records change live), and prints `ready` once listening.
 */
import { createInterface } from 'node:readline';
import type { Service } from '../../src/api/core/service.js';
import type { VirtualMachineInstance } from '../../src/api/kubevirt/vmi.js';
import { ClusterDns, parseUpstream } from '../../src/network/dns/server.js';

let services: Service[] = [];
let vmis: VirtualMachineInstance[] = [];
createInterface({ input: process.stdin }).on('line', (line) => {
  const next = JSON.parse(line) as { services: Service[]; vmis: VirtualMachineInstance[] };
  services = next.services;
  vmis = next.vmis;
  process.stdout.write('updated\n');
});
const [address = '', upstream = ''] = process.argv.slice(2);
const dns = new ClusterDns({
  address,
  upstream: parseUpstream(upstream),
  view: {
    service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    vmis: (ns) => vmis.filter((v) => v.metadata.namespace === ns),
    probeReady: () => undefined,
  },
});
dns.start().then(
  () => process.stdout.write('ready\n'),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
