/**
 * Host-side counters of the taps behind secondary-network NICs, so those NICs have network metrics
 * without a guest agent. A tap in the host namespace (host-bridge networks) is read from sysfs; the
 * taps of an isolated segment live in its namespace, read with one `ip -s -j link` per segment.
 * Counters are the tap's, so they are swapped to the guest's view: what the tap sends, the guest
 * receives.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Segments } from './segments.js';

/** Counters as the guest sees its NIC. */
export interface NicCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

interface LinkStats {
  bytes: number;
  packets: number;
  errors: number;
  dropped: number;
}

/** The tap's own counters, seen from the guest. */
export function guestView(tapRx: LinkStats, tapTx: LinkStats): NicCounters {
  return {
    rxBytes: tapTx.bytes,
    txBytes: tapRx.bytes,
    rxPackets: tapTx.packets,
    txPackets: tapRx.packets,
    rxErrors: tapTx.errors,
    txErrors: tapRx.errors,
    rxDropped: tapTx.dropped,
    txDropped: tapRx.dropped,
  };
}

/** `ip -s -j link show` output → tap name → counters (links without stats64 are left out). */
export function parseIpLinkStats(json: string): Map<string, { rx: LinkStats; tx: LinkStats }> {
  const out = new Map<string, { rx: LinkStats; tx: LinkStats }>();
  const links = JSON.parse(json) as {
    ifname?: string;
    stats64?: { rx?: Partial<LinkStats>; tx?: Partial<LinkStats> };
  }[];
  const stats = (s: Partial<LinkStats> | undefined): LinkStats => ({
    bytes: s?.bytes ?? 0,
    packets: s?.packets ?? 0,
    errors: s?.errors ?? 0,
    dropped: s?.dropped ?? 0,
  });
  for (const l of links) {
    if (l.ifname === undefined || l.stats64 === undefined) continue;
    out.set(l.ifname, { rx: stats(l.stats64.rx), tx: stats(l.stats64.tx) });
  }
  return out;
}

const runIp = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 5000 }, (err, stdout) =>
      err === null ? resolve(stdout) : reject(new Error(`ip ${args.join(' ')}: ${err.message}`)),
    ),
  );

async function sysfsStats(tap: string): Promise<{ rx: LinkStats; tx: LinkStats } | undefined> {
  const read = async (name: string): Promise<number> =>
    Number((await readFile(`/sys/class/net/${tap}/statistics/${name}`, 'utf8')).trim());
  try {
    const [rb, tb, rp, tp, re, te, rd, td] = await Promise.all(
      [
        'rx_bytes',
        'tx_bytes',
        'rx_packets',
        'tx_packets',
        'rx_errors',
        'tx_errors',
        'rx_dropped',
        'tx_dropped',
      ].map(read),
    );
    return {
      rx: { bytes: rb ?? 0, packets: rp ?? 0, errors: re ?? 0, dropped: rd ?? 0 },
      tx: { bytes: tb ?? 0, packets: tp ?? 0, errors: te ?? 0, dropped: td ?? 0 },
    };
  } catch {
    return undefined;
  }
}

/**
 * Counters of every joined tap of `segments`, keyed `UID/INTERFACE`. A segment that cannot be read
 * (being torn down) is skipped: its NICs simply have no sample this round.
 */
export async function readNicCounters(segments: Segments): Promise<Map<string, NicCounters>> {
  const out = new Map<string, NicCounters>();
  for (const s of await segments.list()) {
    const joined = s.attachments.filter((a) => a.joined);
    if (joined.length === 0) continue;
    if (s.netns === '') {
      for (const a of joined) {
        const st = await sysfsStats(a.tap);
        if (st !== undefined) out.set(`${a.uid}/${a.iface}`, guestView(st.rx, st.tx));
      }
      continue;
    }
    let stats: Map<string, { rx: LinkStats; tx: LinkStats }>;
    try {
      stats = parseIpLinkStats(await runIp(['-n', s.netns, '-s', '-j', 'link', 'show']));
    } catch {
      continue;
    }
    for (const a of joined) {
      const st = stats.get(a.tap);
      if (st !== undefined) out.set(`${a.uid}/${a.iface}`, guestView(st.rx, st.tx));
    }
  }
  return out;
}
