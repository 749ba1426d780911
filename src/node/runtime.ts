/**
 * One running QEMU as the node agent sees it: its pid, its QMP connection (events tell a guest
 * shutdown from a crash), the shared serial console and the guest agent channel. A Runtime is
 * either launched here or re-attached to a QEMU that outlived a previous node agent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectQmp, type QmpClient, type QmpEvent } from '../hypervisor/qmp.js';
import type { RuntimePaths } from '../hypervisor/prepared.js';
import { GuestAgent } from './guestagent.js';
import type { QemuProcesses } from './ports.js';
import { SerialFanout } from './serial.js';

export function runtimePaths(dir: string): RuntimePaths {
  return {
    dir,
    qmp: join(dir, 'qmp.sock'),
    serial: join(dir, 'serial.sock'),
    serialLog: join(dir, 'serial.log'),
    vnc: join(dir, 'vnc.sock'),
    guestAgent: join(dir, 'qga.sock'),
    pidfile: join(dir, 'qemu.pid'),
    efiVars: join(dir, 'efivars.fd'),
  };
}

export interface RuntimeEvents {
  /** QEMU stopped, paused, resumed or went away: the VMI's status needs another look. */
  changed(): void;
}

export class Runtime {
  /** The guest asked to power off (ACPI or `poweroff`): the exit that follows is a success. */
  guestShutdown = false;
  paused = false;
  /**
   * Set while QEMU holds the guest paused on a disk error (werror/rerror=stop): which disk and
   * why, e.g. `write on disk-root: No space left on device`. Cleared when the guest resumes.
   */
  ioError: string | undefined;
  stopRequestedAt: number | undefined;
  /** Guest port → host loopback port of the QEMU host forwards added for port-forwarding. */
  readonly forwards = new Map<number, number>();
  readonly serial: SerialFanout;
  readonly agent: GuestAgent;
  private qmp: QmpClient | undefined;
  private reconnecting: Promise<QmpClient> | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly uid: string,
    readonly paths: RuntimePaths,
    readonly pid: number,
    private readonly processes: QemuProcesses,
    private readonly events: RuntimeEvents,
  ) {
    this.serial = new SerialFanout(paths.serial);
    this.agent = new GuestAgent(paths.guestAgent);
    // QMP's close tells us QEMU is gone at once; this poll is the safety net.
    this.timer = setInterval(() => {
      if (!this.alive()) events.changed();
    }, 2000);
    this.timer.unref();
  }

  /** After `launch`: connects to the new QEMU. */
  static async open(
    uid: string,
    paths: RuntimePaths,
    pid: number,
    processes: QemuProcesses,
    events: RuntimeEvents,
  ): Promise<Runtime> {
    const rt = new Runtime(uid, paths, pid, processes, events);
    await rt.connect();
    return rt;
  }

  /** Finds a QEMU left running by a previous node agent for this VMI; undefined when there is none. */
  static async reattach(
    uid: string,
    paths: RuntimePaths,
    processes: QemuProcesses,
    events: RuntimeEvents,
  ): Promise<Runtime | undefined> {
    if (!existsSync(paths.pidfile)) return undefined;
    const pid = Number(readFileSync(paths.pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || !processes.alive(pid, paths.dir)) return undefined;
    const rt = new Runtime(uid, paths, pid, processes, events);
    try {
      await rt.connect();
    } catch {
      // QEMU is alive but its QMP did not answer; the poll keeps watching the process.
    }
    return rt;
  }

  private async connect(): Promise<void> {
    const qmp = await connectQmp(this.paths.qmp, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
    this.qmp = qmp;
    qmp.on('event', (e: QmpEvent) => this.onEvent(e));
    qmp.on('close', () => {
      this.qmp = undefined;
      this.events.changed();
    });
    const status = await qmp.execute<{ status: string }>('query-status');
    this.paused = status.status === 'paused' || status.status === 'prelaunch' || status.status === 'io-error';
    if (status.status === 'io-error') this.ioError ??= 'a disk I/O error (before the node agent attached)';
  }

  private onEvent(e: QmpEvent): void {
    switch (e.event) {
      case 'SHUTDOWN':
        if (e.data['guest'] === true) this.guestShutdown = true;
        this.events.changed();
        break;
      case 'STOP':
        this.paused = true;
        this.events.changed();
        break;
      case 'RESUME':
        this.paused = false;
        this.ioError = undefined;
        this.events.changed();
        break;
      case 'BLOCK_IO_ERROR':
        // Sent before the STOP it causes; `action` says whether QEMU pauses the guest for it.
        if (e.data['action'] === 'stop') this.ioError = describeIoError(e.data);
        break;
      default:
        break;
    }
  }

  alive(): boolean {
    return this.processes.alive(this.pid, this.paths.dir);
  }

  async command<T>(name: string, args?: Record<string, unknown>): Promise<T> {
    if (this.qmp !== undefined) return this.qmp.execute<T>(name, args);
    // Callers asking at once share one reconnection rather than each opening a socket.
    this.reconnecting ??= connectQmp(this.paths.qmp, {
      connectTimeoutMs: 3000,
      commandTimeoutMs: 5000,
    }).finally(() => (this.reconnecting = undefined));
    const qmp = await this.reconnecting;
    this.qmp ??= qmp;
    return this.qmp.execute<T>(name, args);
  }

  /** ACPI power button: the guest decides how to shut down. */
  async powerdown(): Promise<void> {
    this.stopRequestedAt ??= Date.now();
    await this.command('system_powerdown');
  }

  kill(): void {
    this.processes.kill(this.pid, 'SIGKILL');
  }

  /** Lets go of QEMU without stopping it (the node agent is shutting down). */
  detach(): void {
    clearInterval(this.timer);
    this.qmp?.destroy();
    this.serial.close();
    this.agent.close();
  }
}

function describeIoError(data: Record<string, unknown>): string {
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const disk = str(data['device']) || str(data['node-name']) || 'a disk';
  const reason = str(data['reason']) || (data['nospace'] === true ? 'no space left on device' : 'I/O error');
  return `${str(data['operation']) || 'I/O'} on ${disk}: ${reason}`;
}
