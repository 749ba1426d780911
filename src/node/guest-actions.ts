/**
 * What users do to a running guest through subresources: pause and unpause (QMP stop/cont), a
 * soft reboot through the guest agent, and the byte streams of the serial console, VNC and port
 * forwarding. The node agent owns the runtimes; this only finds the one a request names and acts.
 * Failures are StreamUnavailable, which the API server answers as a 404 or 409 Status.
 */
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import type { GuestControl } from '../apiserver/actions.js';
import { StreamUnavailable, type GuestStreams } from '../apiserver/streams.js';
import { podInterfaceName } from '../network/default.js';
import { ensureHostForward } from '../network/forwards.js';
import type { Runtime } from './runtime.js';

export interface GuestLookup {
  vmi(namespace: string, name: string): VirtualMachineInstance | undefined;
  /** The runtime of a VMI by uid, if this node runs it. */
  runtime(uid: string): Runtime | undefined;
  /** The VMI's pod IP when its default network is the routed pod network (no host forward needed). */
  podAddress?(uid: string): string | undefined;
  /** The VMI's state changed here (paused, resumed): its status needs writing. */
  changed(namespace: string, name: string): void;
}

export class GuestActions implements GuestControl, GuestStreams {
  constructor(private readonly guests: GuestLookup) {}

  private runtimeFor(namespace: string, name: string): Runtime {
    const vmi = this.guests.vmi(namespace, name);
    if (vmi === undefined)
      throw new StreamUnavailable(
        'NotFound',
        `virtualmachineinstance.kubevirt.io ${JSON.stringify(name)} not found`,
      );
    const rt = this.guests.runtime(vmi.metadata.uid ?? '');
    if (rt === undefined || !rt.alive())
      throw new StreamUnavailable(
        'Conflict',
        `VirtualMachineInstance ${JSON.stringify(name)} is not running`,
      );
    return rt;
  }

  async pause(namespace: string, name: string): Promise<void> {
    const rt = this.runtimeFor(namespace, name);
    if (rt.paused) throw new StreamUnavailable('Conflict', `VMI ${JSON.stringify(name)} is already paused`);
    await rt.command('stop');
    rt.paused = true;
    this.guests.changed(namespace, name);
  }

  async unpause(namespace: string, name: string): Promise<void> {
    const rt = this.runtimeFor(namespace, name);
    if (!rt.paused) throw new StreamUnavailable('Conflict', `VMI ${JSON.stringify(name)} is not paused`);
    await rt.command('cont');
    rt.paused = false;
    this.guests.changed(namespace, name);
  }

  /** Reboots the guest OS through the guest agent. */
  async softReboot(namespace: string, name: string): Promise<void> {
    const rt = this.runtimeFor(namespace, name);
    try {
      await rt.agent.execute('guest-shutdown', { mode: 'reboot' }, 3000);
    } catch (err) {
      throw new StreamUnavailable(
        'Conflict',
        `soft reboot needs the guest agent, which did not answer: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  serial(namespace: string, name: string): Promise<Duplex> {
    return Promise.resolve(this.runtimeFor(namespace, name).serial.attach());
  }

  /**
   * A connection to a TCP port of the guest, through a host forward on the default network
   * (added on first use, then reused).
   */
  async portForward(namespace: string, name: string, port: number): Promise<Duplex> {
    const rt = this.runtimeFor(namespace, name);
    const vmi = this.guests.vmi(namespace, name);
    const pod = vmi === undefined ? undefined : podInterfaceName(vmi);
    if (pod === undefined)
      throw new StreamUnavailable(
        'Conflict',
        `VMI ${JSON.stringify(name)} has no interface on the default network to forward to`,
      );
    const podIp = this.guests.podAddress?.(rt.uid);
    if (podIp !== undefined)
      return connectTo({ host: podIp, port }, `port ${port} of ${JSON.stringify(name)} is not reachable`);
    let hostPort = rt.forwards.get(port);
    if (hostPort === undefined) {
      try {
        hostPort = await ensureHostForward((c, a) => rt.command(c, a), `netdev-${pod}`, 'tcp', port);
      } catch (err) {
        throw new StreamUnavailable(
          'Conflict',
          `could not set up a forward to port ${port} of ${JSON.stringify(name)}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      rt.forwards.set(port, hostPort);
    }
    return connectTo(
      { host: '127.0.0.1', port: hostPort },
      `port ${port} of ${JSON.stringify(name)} is not reachable`,
    );
  }

  vnc(namespace: string, name: string): Promise<Duplex> {
    const rt = this.runtimeFor(namespace, name);
    return connectTo({ path: rt.paths.vnc }, `VNC of ${JSON.stringify(name)} is not available`);
  }
}

function connectTo(
  target: { host: string; port: number } | { path: string },
  failure: string,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(target);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err) => reject(new StreamUnavailable('Conflict', `${failure}: ${err.message}`)));
  });
}
