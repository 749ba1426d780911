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
    // On the routed pod network the guest's ports are reached at its pod IP (masquerade DNATs them).
    if (nic.podIp !== undefined) return { host: nic.podIp, port };
    const hostPort = await ensureHostForward((c, a) => guest.command(c, a), nic.netdev, protocol, port).catch(
      (err: unknown) => {
        throw new ForwardError(
          `${guest.namespace}/${guest.name}: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
    );
    return { host: '127.0.0.1', port: hostPort };
  }
}

/** A QMP call, as the node agent's runtimes and RunningGuest offer it. */
export type QmpCall = <T>(name: string, args?: Record<string, unknown>) => Promise<T>;

/**
 * The loopback host port that forwards to `guestPort`/`protocol` through the QEMU netdev `netdev`
 * (user networking): an existing forward when there is one, else a new one on a free port. The
 * one place host forwards are added (port-forward, services and probes, custom metrics).
 */
export async function ensureHostForward(
  qmp: QmpCall,
  netdev: string,
  protocol: Protocol,
  guestPort: number,
): Promise<number> {
  const table = async (): Promise<ReturnType<typeof parseUsernet>> =>
    parseUsernet(await qmp<string>('human-monitor-command', { 'command-line': 'info usernet' }));
  const rows = await table();
  const ours = (f: (typeof rows)[number]): boolean =>
    f.protocol === protocol && f.guestPort === guestPort && f.host === '127.0.0.1';
  const existing = rows.find(ours);
  if (existing !== undefined) return existing.hostPort;
  const before = new Set(rows.map((f) => `${f.protocol}/${f.hostPort}`));
  const reply = await qmp<string>('human-monitor-command', {
    'command-line': `hostfwd_add ${netdev} ${protocol}:127.0.0.1:0-:${guestPort}`,
  });
  if (reply.trim() !== '') throw new ForwardError(`hostfwd_add failed: ${reply.trim()}`);
  const added = (await table()).find((f) => ours(f) && !before.has(`${f.protocol}/${f.hostPort}`));
  if (added === undefined)
    throw new ForwardError(`no host forward to ${protocol}/${guestPort} after adding it`);
  return added.hostPort;
}
