/**
 * Whole-address load balancers (Cozystack's `networking.cozystack.io/wholeIP: "true"`): every TCP
 * port of the address reaches the same port of the VM. The proxy listens on one port of the
 * address; the NAT tool sends every other port there and answers, per connection, which port the
 * client dialled; the connection then goes to that port of a ready guest through its host forward
 * (added on first use). A port the guest does not serve is reset by the guest, as it would be on
 * a real address. TCP only: UDP datagrams to the address are not forwarded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { GuestForwards } from '../forwards.js';
import type { NatTool, WholeIpRedirect } from '../nat.js';

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
  next: number;
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
    await new Promise<void>((done) => entry.server.close(() => done()));
    await this.sync().catch((err: Error) => this.log(`whole-IP rules: ${err.message}`));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.remove(k)));
  }

  private sync(): Promise<void> {
    const redirects: WholeIpRedirect[] = [...this.entries.values()].map((e) => ({
      address: e.spec.address,
      port: e.port,
    }));
    return this.nat.apply(redirects);
  }

  private listen(spec: WholeIpSpec): Promise<Entry> {
    const sockets = new Set<Socket>();
    const entry: Entry = { spec, server: undefined as unknown as Server, port: 0, sockets, next: 0 };
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      void this.forward(entry, client);
    });
    entry.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: spec.address, port: 0, exclusive: true }, () => {
        server.off('error', reject);
        const addr = server.address();
        entry.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
        resolve(entry);
      });
    });
  }

  private async forward(entry: Entry, client: Socket): Promise<void> {
    const { spec, port } = entry;
    const reset = (): void => {
      if (!client.destroyed) client.resetAndDestroy();
    };
    let wanted: number | undefined;
    try {
      wanted = await this.nat.originalPort(
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
