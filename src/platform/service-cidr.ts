/**
 * Cluster IPs are immutable through the API, but the range they come from is the admin's choice:
 * user networking keeps them on loopback (127.16.0.0/16), the pod network needs a routable range
 * (10.96.0.0/16) that guests reach. The data dir records the range its Services were given
 * addresses from (format version 2); when a start asks for another one, every Service outside it
 * is given a new cluster IP once, here, before the store is opened — the one place that writes
 * around the API, like a migration step, and recorded as an ordinary change so watchers see it.
 */
import type Database from 'better-sqlite3';
import { cidrHosts, DEFAULT_SERVICE_CIDR } from '../api/admission.js';
import type { Service } from '../api/core/service.js';
import { formatIpv4, parseCidr, parseIpv4 } from '../api/network/cni.js';
import { allocateClusterIp } from '../controllers/service/allocate.js';
import { clusterDnsIp } from '../network/options.js';

const SERVICES = '/services';
const NETWORK_KEY = 'service-cidr-network';
const PREFIX_KEY = 'service-cidr-prefix';

/** The range recorded in the data dir; a store from before format 2 used the loopback one. */
export function recordedServiceCidr(db: Database.Database): string {
  const get = (key: string): number | undefined =>
    (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: number } | undefined)?.value;
  const network = get(NETWORK_KEY);
  const prefix = get(PREFIX_KEY);
  return network === undefined || prefix === undefined
    ? DEFAULT_SERVICE_CIDR
    : `${formatIpv4(network)}/${prefix}`;
}

export function recordServiceCidr(db: Database.Database, serviceCidr: string): void {
  const cidr = parseCidr(serviceCidr);
  if (cidr === undefined) throw new Error(`service CIDR ${JSON.stringify(serviceCidr)} is not an IPv4 CIDR`);
  const set = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  set.run(NETWORK_KEY, cidr.network);
  set.run(PREFIX_KEY, cidr.prefix);
}

interface Row {
  namespace: string;
  name: string;
  json: string;
}

/**
 * Gives every Service whose cluster IP lies outside `serviceCidr` a new one inside it (same choice
 * as the allocator: from its uid, the next free one; never the cluster DNS address) and records
 * the range. Runs in one transaction; a no-op when the range is the recorded one. Returns the
 * moves made, `namespace/name old -> new`, for the start-up log.
 */
export function readdressServices(db: Database.Database, serviceCidr: string): string[] {
  const range = cidrHosts(serviceCidr);
  if (range === undefined) throw new Error(`service CIDR ${JSON.stringify(serviceCidr)} is not an IPv4 CIDR`);
  const run = db.transaction((): string[] => {
    if (recordedServiceCidr(db) === serviceCidr) return [];
    const hasObjects = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'objects'")
      .get();
    if (hasObjects === undefined) {
      recordServiceCidr(db, serviceCidr);
      return [];
    }
    const inside = (ip: string): boolean => {
      const n = parseIpv4(ip);
      return n !== undefined && n >= range.first && n <= range.last;
    };
    const rows = db
      .prepare('SELECT namespace, name, json FROM objects WHERE resource = ? ORDER BY namespace, name')
      .all(SERVICES) as Row[];
    const services = rows.map((r) => ({ row: r, svc: JSON.parse(r.json) as Service }));
    const taken = new Set<string>([clusterDnsIp(serviceCidr)]);
    for (const { svc } of services) {
      const ip = svc.spec?.clusterIP;
      if (ip !== undefined && inside(ip)) taken.add(ip);
    }
    let rv =
      (db.prepare("SELECT value FROM meta WHERE key = 'rv'").get() as { value: number } | undefined)?.value ??
      0;
    const upsert = db.prepare(
      'UPDATE objects SET rv = ?, json = ? WHERE resource = ? AND namespace = ? AND name = ?',
    );
    const change = db.prepare(
      "INSERT INTO changes (rv, type, resource, namespace, name, json) VALUES (?, 'MODIFIED', ?, ?, ?, ?)",
    );
    const moves: string[] = [];
    for (const { row, svc } of services) {
      const old = svc.spec?.clusterIP;
      // Headless Services (None) and ExternalName ones (no address) keep what they have.
      if (svc.spec === undefined || old === undefined || old === '' || old === 'None' || inside(old))
        continue;
      const ip = allocateClusterIp(svc.metadata.uid ?? `${row.namespace}/${row.name}`, range, taken);
      taken.add(ip);
      svc.spec.clusterIP = ip;
      svc.spec.clusterIPs = [ip];
      rv += 1;
      svc.metadata.resourceVersion = String(rv);
      const json = JSON.stringify(svc);
      upsert.run(rv, json, SERVICES, row.namespace, row.name);
      change.run(rv, SERVICES, row.namespace, row.name, json);
      moves.push(`${row.namespace}/${row.name} ${old} -> ${ip}`);
    }
    if (moves.length > 0) db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)").run(rv);
    recordServiceCidr(db, serviceCidr);
    return moves;
  });
  return run();
}
