/**
 * The serial console of one VM, shared: QEMU's serial socket serves one client at a time, so the
 * node agent holds that one connection and fans it out. Each console client gets its own Duplex;
 * what any client types goes to the guest, what the guest prints goes to every client. The
 * connection is re-established if QEMU drops it.
 */
import { createConnection, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

export class SerialFanout {
  private socket: Socket | undefined;
  private readonly clients = new Set<Duplex>();
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly path: string) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const socket = createConnection(this.path);
    // The platform's lifetime is the API server's; a console connection never keeps it alive.
    socket.unref();
    socket.on('data', (chunk: Buffer) => {
      for (const c of this.clients) c.push(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      if (!this.closed) this.retry = setTimeout(() => this.connect(), 500).unref();
    });
    this.socket = socket;
  }

  /** A new console client. Ending it detaches the client only. */
  attach(): Duplex {
    const client: Duplex = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => {
        if (this.socket === undefined || this.socket.destroyed) done();
        else this.socket.write(chunk, () => done());
      },
      final: (done) => {
        this.clients.delete(client);
        client.push(null);
        done();
      },
      destroy: (err, done) => {
        this.clients.delete(client);
        done(err);
      },
    });
    this.clients.add(client);
    return client;
  }

  close(): void {
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.socket?.destroy();
    for (const c of this.clients) c.push(null);
    this.clients.clear();
  }
}
