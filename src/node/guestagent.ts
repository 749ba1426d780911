/**
 * A client of the QEMU guest agent (qemu-ga) over its virtio-serial channel. The channel has no
 * framing of requests to answers, and bytes sent while no agent runs are delivered later, so
 * every request is preceded by `guest-sync` with a fresh id and answers before it are discarded.
 * Requests run one at a time, each with a timeout.
 */
import { createConnection, type Socket } from 'node:net';

export interface GuestOsInfo {
  name?: string;
  'kernel-release'?: string;
  version?: string;
  'pretty-name'?: string;
  'version-id'?: string;
  'kernel-version'?: string;
  machine?: string;
  id?: string;
}

export interface GuestInterface {
  name: string;
  'hardware-address'?: string;
  'ip-addresses'?: { 'ip-address-type': 'ipv4' | 'ipv6'; 'ip-address': string; prefix: number }[];
}

export class GuestAgent {
  private socket: Socket | undefined;
  private buffer = '';
  private waiter: ((line: Record<string, unknown>) => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  private ensure(): Socket {
    if (this.socket !== undefined && !this.socket.destroyed) return this.socket;
    const socket = createConnection(this.path);
    socket.unref();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).replace(/^\xff/, '').trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line === '') continue;
        try {
          this.waiter?.(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not JSON: noise from a previous session on the channel.
        }
      }
    });
    socket.on('error', () => undefined);
    this.socket = socket;
    return socket;
  }

  /** Runs one command; rejects after timeoutMs (no agent, or it is busy). */
  execute<T>(command: string, args?: Record<string, unknown>, timeoutMs = 2000): Promise<T> {
    const run = async (): Promise<T> => {
      const id = Math.floor(Math.random() * 2 ** 31);
      await this.request({ execute: 'guest-sync', arguments: { id } }, (r) => r['return'] === id, timeoutMs);
      const answer = await this.request(
        args === undefined ? { execute: command } : { execute: command, arguments: args },
        () => true,
        timeoutMs,
      );
      if (answer['error'] !== undefined) {
        const e = answer['error'] as { class?: string; desc?: string };
        throw new Error(`guest agent ${command} failed: ${e.desc ?? e.class ?? 'error'}`);
      }
      return answer['return'] as T;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private request(
    message: unknown,
    accept: (r: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const socket = this.ensure();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`guest agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (r) => {
        if (!accept(r)) return;
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(r);
      };
      socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
