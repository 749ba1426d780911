/**
 * A QMP client over QEMU's unix socket: the one way the platform talks to a running QEMU (status,
 * pause, power-down, snapshots). Commands carry ids, so several may be in flight; every wait has a
 * timeout, because a QMP socket that never answers (QEMU hung, or another client holding the single
 * connection QEMU serves) must not hang the node agent.
 */
import { EventEmitter } from 'node:events';
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

export interface QmpOptions {
  /** Connecting, reading the greeting and negotiating capabilities. Default 5 s. */
  connectTimeoutMs?: number;
  /** Default for each command. Default 30 s. */
  commandTimeoutMs?: number;
}

/** QEMU refused a command: `class` is QMP's error class (GenericError, CommandNotFound…), `desc` its message. */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  readonly class: string;

  constructor(
    readonly command: string,
    errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.class = errorClass;
  }
}

export class QmpTimeoutError extends Error {
  override readonly name = 'QmpTimeoutError';
}

export class QmpClosedError extends Error {
  override readonly name = 'QmpClosedError';
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Events = { event: [QmpEvent]; close: [] };

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** Connects to a QMP socket and negotiates capabilities; rejects (never hangs) past connectTimeoutMs. */
export async function connectQmp(path: string, options: QmpOptions = {}): Promise<QmpClient> {
  const socket = createConnection(path);
  // A QMP connection never keeps the process alive on its own (the API server does).
  socket.unref();
  const client = new QmpClient(socket, options);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const handshake = client.handshake();
  // If the timeout wins, the handshake still settles (rejected by destroy()): nobody may be left unhandled.
  handshake.catch(() => undefined);
  try {
    await withTimeout(
      handshake,
      timeoutMs,
      () => new QmpTimeoutError(`no QMP greeting from ${path} within ${timeoutMs} ms`),
    );
    return client;
  } catch (err) {
    client.destroy();
    throw err instanceof Error && !(err instanceof QmpTimeoutError)
      ? new QmpClosedError(`failed connecting to QMP at ${path}: ${err.message}`)
      : err;
  }
}

export class QmpClient extends EventEmitter<Events> {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly commandTimeoutMs: number;
  private greetingValue: QmpGreeting | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (err: Error) => void } | undefined;
  private closedReason: Error | undefined;
  private lastError: Error | undefined;

  /** Takes an unconnected or connected stream; use connectQmp for a unix socket. */
  constructor(
    private readonly socket: Duplex,
    options: QmpOptions = {},
  ) {
    super();
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
  }

  /** What QEMU said on connect (its version); set once the handshake is done. */
  get greeting(): QmpGreeting | undefined {
    return this.greetingValue;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Waits for the greeting and enters command mode. */
  async handshake(): Promise<QmpGreeting> {
    const greeting =
      this.greetingValue ??
      (await new Promise<QmpGreeting>((resolve, reject) => {
        if (this.closedReason !== undefined) reject(this.closedReason);
        else this.greetingWaiter = { resolve, reject };
      }));
    await this.execute('qmp_capabilities');
    return greeting;
  }

  /** Runs a command; resolves with its `return` value, rejects with QmpError, QmpTimeoutError or QmpClosedError. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason);
    const id = `hk-${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(`QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.write(
        `${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`,
      );
    });
  }

  /**
   * Resolves with the next event named `name` (and matching `predicate`) received after this call;
   * rejects on timeout or when the connection closes. Subscribe before causing the event.
   */
  waitForEvent(
    name: string,
    timeoutMs: number,
    predicate: (e: QmpEvent) => boolean = () => true,
  ): Promise<QmpEvent> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const onEvent = (e: QmpEvent): void => {
        if (e.event !== name || !predicate(e)) return;
        done();
        resolve(e);
      };
      const onClose = (): void => {
        done();
        reject(this.closedReason ?? new QmpClosedError('QMP connection closed'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new QmpTimeoutError(`no QMP ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Ends the connection (QEMU keeps running) and waits, at most 1 s, for it to close. */
  async close(): Promise<void> {
    if (this.closedReason !== undefined) return;
    const closed = new Promise<void>((resolve) => this.once('close', resolve));
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await closed;
    clearTimeout(timer);
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        this.lastError = new Error(`QMP sent something that is not JSON: ${line.slice(0, 200)}`);
        this.socket.destroy();
        return;
      }
      if (typeof message === 'object' && message !== null) this.dispatch(message as Record<string, unknown>);
    }
  }

  private dispatch(message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.greetingValue = message['QMP'] as QmpGreeting;
      this.greetingWaiter?.resolve(this.greetingValue);
      this.greetingWaiter = undefined;
      return;
    }
    if (typeof message['event'] === 'string') {
      const { event, data, timestamp } = message as Partial<QmpEvent> & { event: string };
      this.emit('event', {
        event,
        data: data ?? {},
        timestamp: timestamp ?? { seconds: 0, microseconds: 0 },
      });
      return;
    }
    // Answers without an id are QEMU's replies to input it could not parse; nothing of ours to settle.
    const id = message['id'];
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (pending === undefined) return;
    this.pending.delete(id as string);
    clearTimeout(pending.timer);
    const error = message['error'] as { class?: string; desc?: string } | undefined;
    if (error !== undefined)
      pending.reject(new QmpError(pending.command, error.class ?? 'GenericError', error.desc ?? ''));
    else pending.resolve(message['return']);
  }

  private onClose(): void {
    const cause = this.lastError === undefined ? '' : `: ${this.lastError.message}`;
    this.closedReason = new QmpClosedError(`QMP connection closed${cause}`);
    this.greetingWaiter?.reject(this.closedReason);
    this.greetingWaiter = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      // QEMU may close the socket before answering `quit`: it did what was asked.
      if (p.command === 'quit') p.resolve({});
      else p.reject(this.closedReason);
    }
    this.emit('close');
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
