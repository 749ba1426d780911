/**
 * The real ServiceTable: `nft -f -` with the rendered script, plus what the kernel path needs
 * around it on the node — `route_localnet` (so loopback frontends may DNAT to a pod; the table
 * drops 127/8 arriving from outside, as the sysctl's risk asks) and a route for the service CIDR
 * (so the host's own connections to a cluster IP get a source address and reach the output hook).
 * After each apply, the UDP conntrack entries of backends that left a frontend are deleted
 * (conntrack.ts). `netns` runs everything inside a network namespace instead of the host's (tests'
 * fake nodes).
 */
import { execFile, spawn } from 'node:child_process';
import { renderServiceRuleset, type ServiceRuleset } from './ruleset.js';
import { conntrackDeleteArgs, goneUdpFlows, nothingMatched } from './conntrack.js';
import type { SysctlLedger } from '../host-sysctls.js';

const ROUTE_LOCALNET = 'net.ipv4.conf.all.route_localnet';

/** The port at the side-effect boundary: desired services in, kernel state out. */
export interface ServiceTable {
  apply(ruleset: ServiceRuleset): Promise<void>;
  /** Removes the table (the route and sysctl stay: harmless without it). */
  remove(table: string): Promise<void>;
}

export interface LinuxServiceTableOptions {
  /** Run inside this network namespace (default: the host's). */
  netns?: string;
  /** The service CIDR routed through `lo` from the gateway address, set up on first apply. */
  serviceCidr: string;
  log?: (message: string) => void;
  /** Records route_localnet before it is set and gives it back when the table goes (default: not recorded). */
  ledger?: SysctlLedger;
}

const inNetns = (netns: string | undefined, cmd: string, args: string[]): [string, string[]] =>
  netns === undefined ? [cmd, args] : ['ip', ['netns', 'exec', netns, cmd, ...args]];

function run(netns: string | undefined, cmd: string, args: string[], input?: string): Promise<string> {
  const [file, argv] = inNetns(netns, cmd, args);
  if (input === undefined)
    return new Promise((resolve, reject) =>
      execFile(file, argv, { timeout: 15_000 }, (err, stdout, stderr) =>
        err === null
          ? resolve(stdout)
          : reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`)),
      ),
    );
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve('') : reject(new Error(`${cmd} failed (${code ?? 'signal'}): ${stderr.trim()}`)),
    );
    child.stdin.end(input);
  });
}

export function linuxServiceTable(o: LinuxServiceTableOptions): ServiceTable {
  let localnet = false;
  let routed: string | undefined;
  /** The last ruleset applied, per table: what the next one is compared with for UDP flushes. */
  const last = new Map<string, ServiceRuleset>();
  const flushUdp = async (before: ServiceRuleset | undefined, after: ServiceRuleset): Promise<void> => {
    for (const flow of goneUdpFlows(before, after))
      await run(o.netns, 'conntrack', conntrackDeleteArgs(flow)).catch((err: Error) => {
        if (!nothingMatched(err.message))
          o.log?.(
            `services: failed deleting UDP conntrack entries of ${flow.frontend.address}:${flow.frontend.port} to ${flow.backend.ip}:${flow.backend.port}: ${err.message}`,
          );
      });
  };
  const prepare = async (gateway: string): Promise<void> => {
    if (!localnet) {
      if (o.ledger !== undefined) o.ledger.set(ROUTE_LOCALNET, '1');
      else await run(o.netns, 'sysctl', ['-qw', `${ROUTE_LOCALNET}=1`]);
      localnet = true;
    }
    if (routed === gateway) return;
    // Needs the gateway address up; until the pod network has it, host connections to cluster IPs
    // follow the default route (DNAT still applies), and the next apply tries again.
    try {
      await run(o.netns, 'ip', ['route', 'replace', o.serviceCidr, 'dev', 'lo', 'src', gateway]);
      routed = gateway;
    } catch (err) {
      o.log?.(
        `services: no route for ${o.serviceCidr} yet: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
  return {
    async apply(ruleset) {
      await prepare(ruleset.gateway);
      await run(o.netns, 'nft', ['-f', '-'], renderServiceRuleset(ruleset));
      const before = last.get(ruleset.table);
      last.set(ruleset.table, ruleset);
      await flushUdp(before, ruleset);
    },
    async remove(table) {
      await run(o.netns, 'nft', ['-f', '-'], `table ip ${table}\ndelete table ip ${table}\n`);
      last.delete(table);
      // Without the table's guard (127/8 only from lo), route_localnet must not stay on.
      if (o.ledger?.restore(ROUTE_LOCALNET) === true) localnet = false;
    },
  };
}
