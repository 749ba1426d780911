/**
 * Active TCP health checks of load balancer backends, and the readiness probes of VMIs. Behind QEMU
 * user networking a TCP connect to a host forward always succeeds (QEMU accepts on the host side,
 * then connects to the guest), so a check passes only when the connection stays open for a short
 * settle window or the guest sends data; a guest with nothing listening resets it within
 * milliseconds, which QEMU turns into an immediate close.
 */
import { connect } from 'node:net';
import type { HostPort } from '../forwards.js';

export interface HealthCheckSpec {
  enabled: boolean;
  periodMs: number;
  timeoutMs: number;
  /** Consecutive passes that bring an unhealthy backend back. */
  healthyThreshold: number;
  /** Consecutive failures that take a backend out. */
  unhealthyThreshold: number;
  /** Guest port checked (TCP); default: the backend's target port (TCP services only). */
  port?: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckSpec = {
  enabled: true,
  periodMs: 2000,
  timeoutMs: 1000,
  healthyThreshold: 1,
  unhealthyThreshold: 2,
};

/** How long a fresh connection must stay open (without data) to count as accepted by the guest. */
export const SETTLE_MS = 200;

/** Resolves undefined when the port answers, else why not. */
export function tcpCheck(
  target: HostPort,
  timeoutMs: number,
  settleMs = SETTLE_MS,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let done = false;
    const finish = (result: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish(socket.connecting ? `no connection within ${timeoutMs} ms` : undefined),
      Math.max(1, timeoutMs),
    );
    socket.once('connect', () => setTimeout(() => finish(undefined), Math.min(settleMs, timeoutMs)));
    socket.once('data', () => finish(undefined));
    socket.once('end', () => finish('connection closed by the guest (nothing listens on the port)'));
    socket.once('close', () => finish('connection closed by the guest (nothing listens on the port)'));
    socket.once('error', (err) => finish(`connection failed: ${err.message}`));
  });
}

/** An HTTP GET answered with a 2xx or 3xx status, as Kubernetes' httpGet probe. */
export function httpCheck(
  target: HostPort,
  path: string,
  host: string,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    let head = '';
    let done = false;
    const finish = (result: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(`no HTTP answer within ${timeoutMs} ms`), Math.max(1, timeoutMs));
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: hikube-probe\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const line = head.split('\r\n')[0] ?? '';
      if (!head.includes('\r\n')) return;
      const code = Number(/^HTTP\/\d\.\d (\d{3})/.exec(line)?.[1]);
      finish(code >= 200 && code < 400 ? undefined : `HTTP answer ${JSON.stringify(line)}`);
    });
    socket.once('close', () => finish('connection closed before an HTTP answer'));
    socket.once('error', (err) => finish(`connection failed: ${err.message}`));
  });
}

/** Counts consecutive results against the thresholds; `observe` returns whether the state changed. */
export class HealthState {
  /** undefined until the first result: a new backend takes no traffic before one check passes. */
  healthy: boolean | undefined;
  reason = 'not checked yet';
  private passes = 0;
  private failures = 0;

  constructor(private readonly spec: Pick<HealthCheckSpec, 'healthyThreshold' | 'unhealthyThreshold'>) {}

  observe(failure: string | undefined): boolean {
    const before = this.healthy;
    if (failure === undefined) {
      this.passes++;
      this.failures = 0;
      if (
        this.healthy !== true &&
        (this.healthy === undefined || this.passes >= this.spec.healthyThreshold)
      ) {
        this.healthy = true;
        this.reason = '';
      }
    } else {
      this.failures++;
      this.passes = 0;
      this.reason = failure;
      if (this.healthy === undefined || (this.healthy && this.failures >= this.spec.unhealthyThreshold))
        this.healthy = false;
    }
    return before !== this.healthy;
  }

  /** The backend is known dead (its host forward refused a connection): out at once. */
  down(reason: string): boolean {
    const before = this.healthy;
    this.healthy = false;
    this.reason = reason;
    this.passes = 0;
    this.failures = this.spec.unhealthyThreshold;
    return before !== false;
  }
}
