/**
 * The values of a VMI spec that end up in QEMU's command line, checked at admission as KubeVirt's
 * webhooks check them: machine type against the emulated-machine globs, CPU model and feature
 * names, firmware UUID and serial, disk serials, and volumes behind a feature gate. Hikube renders
 * QEMU options itself (src/hypervisor/render.ts escapes every value), but a value that selects a
 * QEMU key or object (a machine type, a CPU model or flag) cannot be escaped: those are refused here,
 * with their field, instead of failing at start. The configurators use the same predicates, so a
 * VMI written around admission still cannot reach QEMU with them.
 */
import type { FieldError } from '../kind.js';
import type { VirtualMachineInstanceSpec } from './vmi.js';

/** KubeVirt's default emulated machines on amd64. */
export const EMULATED_MACHINES = ['q35*', 'pc-q35*'] as const;
/** What a QEMU machine type, CPU model or CPU flag may be named: no `,` `=` or spaces. */
export const QEMU_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** KubeVirt's rule for disk and firmware serials (what libvirt accepts). */
export const SERIAL = /^[A-Za-z0-9_.+-]+$/;
export const MAX_SERIAL_LENGTH = 256;
/** Models that mean "the host's CPU" (mapped to what the accelerator offers). */
export const HOST_CPU_MODELS = ['host-model', 'host-passthrough', 'host'] as const;
export const CPU_FEATURE_POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'] as const;

/** `q35*` as a glob: `*` any run of characters, every other character itself. */
function globMatch(glob: string, text: string): boolean {
  const pattern = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${pattern}$`).test(text);
}

/** Why a machine type cannot be used, or undefined when it can. */
export function machineTypeProblem(type: string): string | undefined {
  if (!EMULATED_MACHINES.some((g) => globMatch(g, type)))
    return `Unsupported value: ${JSON.stringify(type)}: supported values: ${EMULATED_MACHINES.map((g) => JSON.stringify(g)).join(', ')} (emulated machines)`;
  if (!QEMU_NAME.test(type))
    return `Invalid value: ${JSON.stringify(type)}: a machine type is a name of letters, digits, '.', '_' and '-'`;
  return undefined;
}

/** Why a CPU model cannot be used, or undefined when it can. */
export function cpuModelProblem(model: string): string | undefined {
  if ((HOST_CPU_MODELS as readonly string[]).includes(model) || QEMU_NAME.test(model)) return undefined;
  return `Invalid value: ${JSON.stringify(model)}: must be host-model, host-passthrough or a QEMU CPU model name (letters, digits, '.', '_' and '-')`;
}

export function cpuFeatureNameProblem(name: string): string | undefined {
  if (QEMU_NAME.test(name)) return undefined;
  return `Invalid value: ${JSON.stringify(name)}: not a CPU feature name (letters, digits, '.', '_' and '-')`;
}

export function uuidProblem(uuid: string): string | undefined {
  return UUID.test(uuid) ? undefined : `Invalid value: ${JSON.stringify(uuid)}: must be a UUID`;
}

function serialProblem(serial: string): string | undefined {
  if (!SERIAL.test(serial))
    return `Invalid value: ${JSON.stringify(serial)}: must be made up of the characters [A-Za-z0-9_.+-]`;
  if ([...serial].length > MAX_SERIAL_LENGTH)
    return `Invalid value: must be at most ${MAX_SERIAL_LENGTH} characters`;
  return undefined;
}

/** Every value of `spec` that reaches QEMU, checked; paths relative to the object root (`at` is the spec's). */
export function validateDomainValues(spec: VirtualMachineInstanceSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const check = (problem: string | undefined, path: string): void => {
    if (problem === undefined) return;
    const reason = problem.startsWith('Unsupported') ? 'FieldValueNotSupported' : 'FieldValueInvalid';
    errors.push({ path, reason, message: problem });
  };
  const domain = spec.domain;
  const d = `${at}.domain`;
  const type = domain.machine?.type;
  if (type !== undefined && type !== '') check(machineTypeProblem(type), `${d}.machine.type`);
  if (domain.cpu?.model !== undefined) check(cpuModelProblem(domain.cpu.model), `${d}.cpu.model`);
  (domain.cpu?.features ?? []).forEach((f, i) => {
    check(cpuFeatureNameProblem(f.name), `${d}.cpu.features[${i}].name`);
    if (f.policy !== undefined && !(CPU_FEATURE_POLICIES as readonly string[]).includes(f.policy))
      check(
        `Unsupported value: ${JSON.stringify(f.policy)}: supported values: ${CPU_FEATURE_POLICIES.map((p) => JSON.stringify(p)).join(', ')}`,
        `${d}.cpu.features[${i}].policy`,
      );
  });
  const firmware = domain.firmware;
  if (firmware?.uuid !== undefined) check(uuidProblem(firmware.uuid), `${d}.firmware.uuid`);
  if (firmware?.serial !== undefined && firmware.serial !== '')
    check(serialProblem(firmware.serial), `${d}.firmware.serial`);
  (domain.devices.disks ?? []).forEach((disk, i) => {
    if (disk.serial !== undefined && disk.serial !== '')
      check(serialProblem(disk.serial), `${d}.devices.disks[${i}].serial`);
  });
  return errors;
}
