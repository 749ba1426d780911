/**
 * Small paravirtual devices: the RNG (when devices.rng is present), the memory balloon (unless
 * autoattachMemBalloon is false; it gives guest memory statistics), and a USB tablet so that the VNC
 * pointer tracks absolutely (with graphics unless autoattachInputDevice is false, or when an input
 * of type tablet is listed).
 */
import type { DomainSpec } from '../../api/kubevirt/domain.js';
import type { QemuMachine } from '../machine.js';
import { hasGraphics } from './consoles.js';

export function configureDevices(domain: DomainSpec): Pick<QemuMachine, 'rng' | 'balloon' | 'tablet'> {
  const devices = domain.devices;
  const listedTablet = (devices.inputs ?? []).some((input) => input.type === 'tablet');
  return {
    rng: devices.rng !== undefined,
    balloon: devices.autoattachMemBalloon !== false,
    tablet: listedTablet || (hasGraphics(domain) && devices.autoattachInputDevice !== false),
  };
}
