/**
 * The host's ways into the guest, all unix sockets in the VM's runtime directory: QMP, the serial
 * console (also logged to a file so output is kept with no client attached), the guest agent
 * channel, and VNC unless autoattachGraphicsDevice is false.
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import type { Issues } from '../errors.js';
import type { QemuMachine } from '../machine.js';
import type { RuntimePaths } from '../prepared.js';

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export type Consoles = Pick<QemuMachine, 'serial' | 'qmp' | 'guestAgent' | 'vnc'>;

export function configureConsoles(domain: DomainSpec, paths: RuntimePaths, issues: Issues): Consoles {
  const sockets: [keyof RuntimePaths, string][] = [
    ['qmp', paths.qmp],
    ['serial', paths.serial],
    ['guestAgent', paths.guestAgent],
  ];
  const graphics = hasGraphics(domain);
  if (graphics) sockets.push(['vnc', paths.vnc]);
  for (const [name, path] of sockets) {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      issues.error(
        `prepared.paths.${name}`,
        `Invalid value: ${JSON.stringify(path)}: a unix socket path has at most ${MAX_SOCKET_PATH} bytes`,
      );
    }
  }
  const consoles: Consoles = {
    serial: { socket: paths.serial, logfile: paths.serialLog },
    qmp: { socket: paths.qmp },
    guestAgent: { socket: paths.guestAgent },
  };
  if (graphics) consoles.vnc = { socket: paths.vnc };
  return consoles;
}

export function hasGraphics(domain: DomainSpec): boolean {
  return domain.devices.autoattachGraphicsDevice !== false;
}
