/**
 * How the node reaches a port of a guest on the default network: a QEMU host forward on loopback
 * (`hostfwd_add … tcp:127.0.0.1:0-:PORT`, or udp), added on first use through QMP and found again
 * in `info usernet`, so forwards survive a control-plane restart along with the guest. Services
 * and readiness probes go through these; nothing listens on a non-loopback address.
 */
import type { RunningGuest } from '../node/agent.js';

export type Protocol = 'tcp' | 'udp';

export interface HostPort {
  host: string;
  port: number;
}

export interface GuestForwards {
  /** The loopback address that reaches `port`/`protocol` of the guest with this uid. */
  forward(uid: string, protocol: Protocol, port: number): Promise<HostPort>;
}

export class ForwardError extends Error {}

/** The running guests, as the node agent lists them. */
export interface GuestList {
  running(): RunningGuest[];
}

/** `info usernet` rows of host forwards: protocol, host address and port → guest port. */
export function parseUsernet(
  table: string,
): { protocol: Protocol; host: string; hostPort: number; guestPort: number }[] {
  const out: { protocol: Protocol; host: string; hostPort: number; guestPort: number }[] = [];
  for (const line of table.split('\n')) {
    const m = /(TCP|UDP)\[HOST_FORWARD\]\s+\d+\s+(\S+)\s+(\d+)\s+\S+\s+(\d+)/.exec(line);
    if (m === null) continue;
    out.push({
      protocol: m[1] === 'UDP' ? 'udp' : 'tcp',
      host: m[2] ?? '',
      hostPort: Number(m[3]),
      guestPort: Number(m[4]),
    });
  }
  return out;
}

/** GuestForwards through QMP on the guests the node agent runs. */
export class QmpForwards implements GuestForwards {
  private readonly cache = new Map<string, Promise<HostPort>>();

  constructor(private readonly guests: GuestList) {}

  forward(uid: string, protocol: Protocol, port: number): Promise<HostPort> {
    const key = `${uid}/${protocol}/${port}`;
    let found = this.cache.get(key);
    if (found === undefined) {
      found = this.add(uid, protocol, port);
      this.cache.set(key, found);
      found.catch(() => this.cache.delete(key));
    }
    return found;
  }

  /** Forgets the forwards of guests that no longer run (their QEMU took the sockets with it). */
  prune(running: Set<string>): void {
    for (const key of this.cache.keys()) if (!running.has(key.split('/')[0] ?? '')) this.cache.delete(key);
  }

  private async add(uid: string, protocol: Protocol, port: number): Promise<HostPort> {
    const guest = this.guests.running().find((g) => g.uid === uid);
    if (guest === undefined) throw new ForwardError(`no running guest with uid ${uid}`);
    const nic = guest.nics.find((n) => n.pod);
    if (nic === undefined)
      throw new ForwardError(`${guest.namespace}/${guest.name} has no interface on the default network`);
    const table = (): Promise<string> =>
      guest.command<string>('human-monitor-command', { 'command-line': 'info usernet' });
    const rows = parseUsernet(await table());
    const existing = rows.find(
      (f) => f.protocol === protocol && f.guestPort === port && f.host === '127.0.0.1',
    );
    if (existing !== undefined) return { host: '127.0.0.1', port: existing.hostPort };
    const before = new Set(rows.map((f) => `${f.protocol}/${f.hostPort}`));
    const reply = await guest.command<string>('human-monitor-command', {
      'command-line': `hostfwd_add ${nic.netdev} ${protocol}:127.0.0.1:0-:${port}`,
    });
    if (reply.trim() !== '')
      throw new ForwardError(`hostfwd_add failed for ${guest.namespace}/${guest.name}: ${reply.trim()}`);
    const added = parseUsernet(await table()).find(
      (f) => f.protocol === protocol && f.guestPort === port && !before.has(`${f.protocol}/${f.hostPort}`),
    );
    if (added === undefined)
      throw new ForwardError(
        `no host forward to ${protocol}/${port} of ${guest.namespace}/${guest.name} after adding it`,
      );
    return { host: '127.0.0.1', port: added.hostPort };
  }
}
