/**
 * Whole-address load balancers (Cozystack's `networking.cozystack.io/wholeIP: "true"`): every TCP
 * port of the address reaches the same port of the VM. The proxy listens on one port of the
 * address; the NAT tool sends every other port there and answers, per connection, which port the
 * client dialled; the connection then goes to that port of a ready guest through its host forward
 * (added on first use). A port the guest does not serve is reset by the guest, as it would be on
 * a real address. UDP likewise: each client (address and port) is a session with its own upstream
 * socket to the port it sent to, its answers going back from the listening socket (conntrack
 * turns their source back into the address and port the client used).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { GuestForwards } from '../forwards.js';
import type { NatTool, WholeIpRedirect } from '../nat.js';
import { UDP_IDLE_MS } from './udp.js';

export interface WholeIpSpec {
  address: string;
  /** uids of the ready guests behind the address, in a stable order. */
  backends: string[];
}

interface Entry {
  spec: WholeIpSpec;
  server: Server;
  port: number;
  sockets: Set<Socket>;
  udp: UdpSocket;
  udpPort: number;
  sessions: Map<string, UdpSession>;
  next: number;
}

interface UdpSession {
  /** Datagrams that arrived before the upstream was ready. */
  pending: Buffer[];
  upstream?: UdpSocket;
  timer: NodeJS.Timeout;
}

export class WholeIpProxy {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly forwards: GuestForwards,
    private readonly nat: NatTool,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Serves the service `key` on its whole address; returns the port the proxy itself listens on. */
  async apply(key: string, spec: WholeIpSpec): Promise<number> {
    const current = this.entries.get(key);
    if (current !== undefined && current.spec.address === spec.address) {
      current.spec = spec;
      return current.port;
    }
    if (current !== undefined) await this.remove(key);
    const entry = await this.listen(spec);
    this.entries.set(key, entry);
    try {
      await this.sync();
    } catch (err) {
      await this.remove(key);
      throw err;
    }
    return entry.port;
  }

  async remove(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    for (const s of entry.sockets) s.destroy();
    for (const key of [...entry.sessions.keys()]) endSession(entry, key);
    await new Promise<void>((done) => entry.server.close(() => done()));
    await new Promise<void>((done) => entry.udp.close(() => done()));
    await this.sync().catch((err: Error) => this.log(`whole-IP rules: ${err.message}`));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.remove(k)));
  }

  private sync(): Promise<void> {
    const redirects: WholeIpRedirect[] = [...this.entries.values()].map((e) => ({
      address: e.spec.address,
      port: e.port,
      udpPort: e.udpPort,
    }));
    return this.nat.apply(redirects);
  }

  private async listen(spec: WholeIpSpec): Promise<Entry> {
    const sockets = new Set<Socket>();
    const udp = createSocket({ type: 'udp4' });
    const entry: Entry = {
      spec,
      server: undefined as unknown as Server,
      port: 0,
      sockets,
      udp,
      udpPort: 0,
      sessions: new Map(),
      next: 0,
    };
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      void this.forward(entry, client);
    });
    entry.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: spec.address, port: 0, exclusive: true }, () => {
        server.off('error', reject);
        const addr = server.address();
        entry.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
        resolve();
      });
    });
    udp.on('message', (msg, rinfo) => this.datagram(entry, msg, rinfo));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: spec.address, port: 0, exclusive: true }, () => {
          udp.off('error', reject);
          udp.on('error', () => undefined);
          entry.udpPort = udp.address().port;
          resolve();
        });
      });
    } catch (err) {
      server.close();
      throw err;
    }
    return entry;
  }

  private datagram(entry: Entry, msg: Buffer, client: { address: string; port: number }): void {
    const key = `${client.address}:${client.port}`;
    const existing = entry.sessions.get(key);
    if (existing !== undefined) {
      existing.timer.refresh();
      if (existing.upstream === undefined) existing.pending.push(msg);
      else existing.upstream.send(msg);
      return;
    }
    const session: UdpSession = {
      pending: [msg],
      timer: setTimeout(() => endSession(entry, key), UDP_IDLE_MS),
    };
    session.timer.unref();
    entry.sessions.set(key, session);
    void this.openSession(entry, key, session, client);
  }

  private async openSession(
    entry: Entry,
    key: string,
    session: UdpSession,
    client: { address: string; port: number },
  ): Promise<void> {
    const { spec } = entry;
    try {
      const wanted = await this.nat.originalPort(
        'udp',
        client.address,
        client.port,
        spec.address,
        entry.udpPort,
      );
      const uid = spec.backends[entry.next++ % Math.max(1, spec.backends.length)];
      if (uid === undefined) throw new Error('no ready guest');
      const target = await this.forwards.forward(uid, 'udp', wanted ?? entry.udpPort);
      if (entry.sessions.get(key) !== session) return;
      const upstream = createSocket({ type: 'udp4' });
      session.upstream = upstream;
      upstream.on('message', (answer) => {
        session.timer.refresh();
        entry.udp.send(answer, client.port, client.address);
      });
      upstream.on('error', () => endSession(entry, key));
      upstream.connect(target.port, target.host, () => {
        for (const m of session.pending.splice(0)) upstream.send(m);
      });
    } catch (err) {
      this.log(`whole-IP ${spec.address}/udp: ${err instanceof Error ? err.message : String(err)}`);
      endSession(entry, key);
    }
  }

  private async forward(entry: Entry, client: Socket): Promise<void> {
    const { spec, port } = entry;
    const reset = (): void => {
      if (!client.destroyed) client.resetAndDestroy();
    };
    let wanted: number | undefined;
    try {
      wanted = await this.nat.originalPort(
        'tcp',
        client.remoteAddress ?? '',
        client.remotePort ?? 0,
        spec.address,
        port,
      );
    } catch (err) {
      this.log(`whole-IP ${spec.address}: ${err instanceof Error ? err.message : String(err)}`);
    }
    // A client that dialled the listening port itself was not NATed.
    const guestPort = wanted ?? port;
    if (spec.backends.length === 0 || client.destroyed) return reset();
    const uid = spec.backends[entry.next++ % spec.backends.length] ?? '';
    let target;
    try {
      target = await this.forwards.forward(uid, 'tcp', guestPort);
    } catch {
      return reset();
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', reset);
    client.on('error', () => upstream.destroy());
    client.once('close', () => {
      if (!upstream.writableEnded) upstream.destroy();
    });
    upstream.once('close', () => {
      if (!client.writableEnded) client.destroy();
    });
  }
}

function endSession(entry: Entry, key: string): void {
  const s = entry.sessions.get(key);
  if (s === undefined) return;
  entry.sessions.delete(key);
  clearTimeout(s.timer);
  s.upstream?.close();
}
