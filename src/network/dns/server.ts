/**
 * Cluster DNS for guests on the pod network: a UDP server on the node (the pod gateway's port 53;
 * the cluster DNS IP 10.96.0.10 is DNATed to it by the Service table) that answers names of the
 * cluster domain from the API objects (records.ts) and relays every other query, untouched, to
 * the upstream resolver (`hikube up --dns-upstream`, default the host's resolv.conf). An
 * ExternalName Service answers a CNAME to its target, with the target's A records looked up as any
 * other name would be (the cluster's own, or the upstream's), as CoreDNS does. Bad packets
 * get FORMERR or are dropped; an upstream that does not answer in time gives SERVFAIL.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import {
  buildQuery,
  buildResponse,
  DnsFormatError,
  parseQuery,
  RCODE,
  readResponse,
  TYPE_A,
  type Query,
} from './message.js';
import type { KernelService } from '../services/ruleset.js';
import { CLUSTER_DOMAIN, lookupClusterName, type ClusterView } from './records.js';

export interface Upstream {
  host: string;
  port: number;
}

export interface ClusterDnsOptions {
  /** Where to listen (the pod gateway). */
  address: string;
  /** Default 53; 0 picks a free port (tests). */
  port?: number;
  view: ClusterView;
  /** Where other names go; undefined answers them SERVFAIL. */
  upstream: Upstream | undefined;
  upstreamTimeoutMs?: number;
  /** How often a bind to a missing address is tried again (default 500 ms). */
  retryMs?: number;
  domain?: string;
  log?: (message: string) => void;
}

/** `HOST` or `HOST:PORT` (IPv4), as `--dns-upstream` takes it. */
export function parseUpstream(text: string): Upstream {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (m?.[1] === undefined || port < 1 || port > 65535 || m[1].split('.').some((o) => Number(o) > 255))
    throw new Error(`DNS upstream ${JSON.stringify(text)} is not an IPv4 address with an optional :port`);
  return { host: m[1], port };
}

/** The first IPv4 nameserver of a resolv.conf text. */
export function upstreamFromResolvConf(text: string): Upstream | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1] === undefined) continue;
    try {
      return parseUpstream(m[1]);
    } catch {
      continue; // IPv6
    }
  }
  return undefined;
}

/** $HIKUBE_DNS_UPSTREAM or the given value, else the host's /etc/resolv.conf. */
export function defaultUpstream(given?: string, env = process.env): Upstream | undefined {
  const text = given ?? env['HIKUBE_DNS_UPSTREAM'];
  if (text !== undefined && text !== '') return parseUpstream(text);
  try {
    return upstreamFromResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return undefined;
  }
}

export class ClusterDns {
  private socket: Socket | undefined;
  private stopped = false;
  private waiting = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClusterDnsOptions) {}

  /**
   * Listens; resolves the port. The gateway address may not exist yet (the pod network makes its
   * link with the first sandbox and removes it with the last): the bind is then retried every
   * `retryMs` until it succeeds or stop() is called. A bound socket outlives its address going
   * and coming back.
   */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        if (this.stopped) {
          reject(new Error('cluster DNS stopped before it could listen'));
          return;
        }
        const socket = createSocket('udp4');
        socket.once('error', (err: NodeJS.ErrnoException) => {
          socket.close();
          if (err.code !== 'EADDRNOTAVAIL') {
            reject(err);
            return;
          }
          if (!this.waiting) this.o.log?.(`cluster DNS: waiting for ${this.o.address} to exist`);
          this.waiting = true;
          this.retry = setTimeout(attempt, this.o.retryMs ?? 500);
        });
        socket.bind(this.o.port ?? 53, this.o.address, () => {
          socket.removeAllListeners('error');
          socket.on('message', (msg, from) => void this.handle(msg, from.address, from.port));
          socket.on('error', (err) => this.o.log?.(`cluster DNS on ${this.o.address}: ${err.message}`));
          this.socket = socket;
          resolve(socket.address().port);
        });
      };
      attempt();
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const s = this.socket;
    this.socket = undefined;
    return new Promise((resolve) => (s === undefined ? resolve() : s.close(() => resolve())));
  }

  /** The answer to one query, or undefined when it goes upstream (exported for tests). */
  answer(query: Query): Buffer | undefined {
    const found = lookupClusterName(query.question.name, this.o.view, this.o.domain ?? CLUSTER_DOMAIN);
    if (found === undefined) return undefined;
    if (!found.exists) return buildResponse(query, { rcode: RCODE.nxDomain, authoritative: true });
    if ('cname' in found) return undefined; // an alias: handle() looks its target up
    // The name exists; only A records are kept (AAAA and the rest: an empty answer).
    const addresses = query.question.type === TYPE_A ? found.addresses : [];
    return buildResponse(query, { rcode: RCODE.noError, authoritative: true, addresses });
  }

  private async handle(msg: Buffer, host: string, port: number): Promise<void> {
    let query: Query;
    try {
      query = parseQuery(msg);
    } catch (err) {
      if (err instanceof DnsFormatError && msg.length >= 12 && (msg.readUInt16BE(2) & 0x8000) === 0)
        this.reply(
          buildResponse(
            { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), questionBytes: Buffer.alloc(0) },
            { rcode: RCODE.formErr },
          ),
          host,
          port,
        );
      return;
    }
    const found = lookupClusterName(query.question.name, this.o.view, this.o.domain ?? CLUSTER_DOMAIN);
    if (found?.exists === true && 'cname' in found)
      return this.reply(await this.alias(query, found.cname), host, port);
    const local = this.answer(query);
    if (local !== undefined) return this.reply(local, host, port);
    const relayed = this.o.upstream === undefined ? undefined : await this.relay(msg, this.o.upstream);
    this.reply(relayed ?? buildResponse(query, { rcode: RCODE.servFail }), host, port);
  }

  /**
   * The answer for an ExternalName Service: a CNAME to `target`, plus the target's A records, from
   * the cluster's own names or else the upstream (whose rcode is passed on: NXDOMAIN stays one). An
   * upstream that does not answer gives SERVFAIL. One hop only: an alias of an alias is left to
   * the client.
   */
  private async alias(query: Query, target: string): Promise<Buffer> {
    const answer = (rcode: number, addresses: string[] = []): Buffer =>
      buildResponse(query, { rcode, authoritative: true, cname: target, addresses });
    if (query.question.type !== TYPE_A) return answer(RCODE.noError);
    const local = lookupClusterName(target, this.o.view, this.o.domain ?? CLUSTER_DOMAIN);
    if (local !== undefined)
      return local.exists ? answer(RCODE.noError, local.addresses) : answer(RCODE.nxDomain);
    const relayed =
      this.o.upstream === undefined
        ? undefined
        : await this.relay(buildQuery(query.id, target, TYPE_A), this.o.upstream);
    if (relayed === undefined) return buildResponse(query, { rcode: RCODE.servFail });
    try {
      const r = readResponse(relayed);
      return answer(r.rcode, r.rcode === RCODE.noError ? r.addresses : []);
    } catch {
      return buildResponse(query, { rcode: RCODE.servFail });
    }
  }

  private reply(msg: Buffer, host: string, port: number): void {
    this.socket?.send(msg, port, host);
  }

  /** Sends the query upstream from a socket of its own; the answer, or undefined on timeout. */
  private relay(msg: Buffer, upstream: Upstream): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const s = createSocket('udp4');
      const done = (answer: Buffer | undefined): void => {
        clearTimeout(timer);
        s.close();
        resolve(answer);
      };
      const timer = setTimeout(() => done(undefined), this.o.upstreamTimeoutMs ?? 2000);
      s.on('message', (answer, from) => {
        if (
          from.address === upstream.host &&
          from.port === upstream.port &&
          answer.readUInt16BE(0) === msg.readUInt16BE(0)
        )
          done(answer);
      });
      s.on('error', () => done(undefined));
      s.send(msg, upstream.port, upstream.host);
    });
  }
}

/** The Service table's entry that sends the cluster DNS IP's port 53 to the server on the gateway. */
export function clusterDnsEntry(dnsIp: string, gateway: string, port = 53): KernelService {
  return {
    key: 'kube-system/cluster-dns',
    ports: [
      { protocol: 'udp', frontends: [{ address: dnsIp, port: 53 }], backends: [{ ip: gateway, port }] },
    ],
  };
}
