/**
 * VMI → QemuMachine. Runs every configurator over the spec and the node's prepared resources, then
 * throws one MachineError naming every impossible field, or returns the machine (with warnings for
 * what was left out). Pure: no file, process or clock is touched, so the same inputs give the same
 * machine and, through render.ts, the same argv.
 */
import type { VirtualMachineInstance } from '../api/kubevirt/vmi.js';
import { configureConsoles } from './configurators/consoles.js';
import { configureCpu } from './configurators/cpu.js';
import { configureDevices } from './configurators/devices.js';
import { configureDisks } from './configurators/disks.js';
import { configureFirmware } from './configurators/firmware.js';
import { configureIdentity } from './configurators/identity.js';
import { configureMachineType } from './configurators/machine-type.js';
import { configureMemory } from './configurators/memory.js';
import { configureNics } from './configurators/nics.js';
import { Issues } from './errors.js';
import type { QemuMachine } from './machine.js';
import type { HostFacts, PreparedResources } from './prepared.js';

/** @throws MachineError when the spec cannot run as asked (every bad field is a cause). */
export function buildMachine(
  vmi: VirtualMachineInstance,
  prepared: PreparedResources,
  host: HostFacts,
): QemuMachine {
  const issues = new Issues();
  const spec = vmi.spec;
  const domain = spec.domain;
  const { disks, kernelBoot } = configureDisks(spec, prepared.volumes, issues);
  const machine: QemuMachine = {
    ...configureIdentity(vmi, issues),
    accel: host.accel,
    machineType: configureMachineType(domain, issues),
    cpu: configureCpu(domain, host.accel, issues),
    memoryBytes: configureMemory(domain, issues),
    firmware: configureFirmware(domain, host.ovmfDir, prepared.paths.efiVars, issues),
    disks,
    nics: configureNics(spec, prepared.macs, prepared.backends, issues),
    ...configureConsoles(domain, prepared.paths, issues),
    ...configureDevices(domain),
    pidfile: prepared.paths.pidfile,
    startPaused: spec.startStrategy === 'Paused',
    noReboot: prepared.noReboot === true,
    warnings: issues.warnings,
  };
  if (kernelBoot !== undefined) machine.kernelBoot = kernelBoot;
  issues.throwIfAny();
  return machine;
}
