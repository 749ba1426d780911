/**
 * Admission rules beyond the schema, as KubeVirt's validating webhooks apply them: names that must
 * match across lists, exactly one source per volume, resource sanity. Every rule reports a path
 * relative to the object root, and all of them run: a user fixes every mistake in one round trip.
 */
import type { FieldError } from '../kind.js';
import { validateDomainValues } from './domain-values.js';
import { parseQuantity } from '../quantity.js';
import type { Disk, Interface } from './domain.js';
import { validateKernelBoot } from './kernel-boot.js';
import type { VirtualMachineInstanceSpec } from './vmi.js';
import { NETWORK_SOURCES, VOLUME_SOURCES, type Network, type Volume } from './volumes.js';
import { withoutTrayMedia } from './trays.js';

const MAC = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface VmiValidationContext {
  /** The VM selects an instancetype: the template may not set what it provides. */
  instancetype?: boolean;
  /**
   * The spec is a VM's template, not a VMI: as KubeVirt, a template without memory is accepted and
   * only the VMI made from it is refused (the VM then shows FailedCreate).
   */
  template?: boolean;
}

export function validateVmiSpec(
  spec: VirtualMachineInstanceSpec,
  at: string,
  old?: VirtualMachineInstanceSpec,
  ctx: VmiValidationContext = {},
): FieldError[] {
  const errors: FieldError[] = [];
  const domain = `${at}.domain`;
  const disks = spec.domain.devices.disks ?? [];
  const volumes = spec.volumes ?? [];
  const interfaces = spec.domain.devices.interfaces ?? [];
  const networks = spec.networks ?? [];

  errors.push(...duplicates(disks, `${domain}.devices.disks`));
  errors.push(...duplicates(volumes, `${at}.volumes`));
  errors.push(...duplicates(interfaces, `${domain}.devices.interfaces`));
  errors.push(...duplicates(networks, `${at}.networks`));
  disks.forEach((d, i) => errors.push(...checkDisk(d, `${domain}.devices.disks[${i}]`)));
  volumes.forEach((v, i) => errors.push(...exactlyOne(v, VOLUME_SOURCES, `${at}.volumes[${i}]`, 'volume')));
  networks.forEach((n, i) =>
    errors.push(...exactlyOne(n, NETWORK_SOURCES, `${at}.networks[${i}]`, 'network')),
  );
  errors.push(...checkNetworks(networks, `${at}.networks`));
  (spec.domain.devices.gpus ?? []).forEach((g, i) => {
    if (g.deviceName === undefined && g.claimName === undefined)
      errors.push({
        path: `${domain}.devices.gpus[${i}].deviceName`,
        reason: 'FieldValueRequired',
        message: 'Required value: a GPU names a deviceName or a DRA claimName',
      });
  });
  (spec.domain.devices.hostDevices ?? []).forEach((h, i) => {
    if (h.deviceName === undefined && h.claimName === undefined)
      errors.push({
        path: `${domain}.devices.hostDevices[${i}].deviceName`,
        reason: 'FieldValueRequired',
        message: 'Required value: a host device names a deviceName or a DRA claimName',
      });
  });
  interfaces.forEach((nic, i) =>
    errors.push(...checkInterface(nic, networks, `${domain}.devices.interfaces[${i}]`)),
  );
  if (networks.length === 0) {
    // Without spec.networks only one interface can join the default network.
    interfaces.slice(1).forEach((nic, i) =>
      errors.push({
        path: `${domain}.devices.interfaces[${i + 1}].name`,
        reason: 'FieldValueNotFound',
        message: `Not found: ${JSON.stringify(nic.name)}: no network of that name in ${at}.networks (only one interface joins the default network when networks are not listed)`,
      }),
    );
  }
  errors.push(...bootOrders(spec, domain));
  errors.push(...validateKernelBoot(spec.domain.firmware?.kernelBoot, `${domain}.firmware.kernelBoot`));
  errors.push(...validateDomainValues(spec, at));
  errors.push(...resources(spec, domain, ctx));
  if (spec.hostname !== undefined && !DNS_LABEL.test(spec.hostname)) {
    errors.push({
      path: `${at}.hostname`,
      message: `Invalid value: ${JSON.stringify(spec.hostname)}: must be a DNS label`,
    });
  }
  // The media of the CD-ROM trays are the one part that changes while the guest runs (trays.ts).
  if (old !== undefined && JSON.stringify(withoutTrayMedia(old)) !== JSON.stringify(withoutTrayMedia(spec))) {
    errors.push({
      path: at,
      reason: 'FieldValueForbidden',
      message:
        'Forbidden: the spec of a VirtualMachineInstance cannot change once created, except the media of its cdrom disks; change the VirtualMachine and restart it',
    });
  }
  return errors;
}

/**
 * Remarks that do not stop the write. A disk (not a cdrom) naming no volume applies, and the guest
 * starts without it: KubeVirt refuses it (`Name '…' not found`), but the seed document's own GPU
 * example has such a disk (docs/api-exceptions.md, `disk-without-volume`). A cdrom without one is an
 * empty tray (gated-fields.ts); a volume with no disk gets a virtio disk, as in KubeVirt.
 */
export function vmiSpecWarnings(spec: VirtualMachineInstanceSpec | undefined, at: string): string[] {
  const volumes = new Set((spec?.volumes ?? []).map((v) => v.name));
  const out: string[] = [];
  (spec?.domain.devices.disks ?? []).forEach((d, i) => {
    if (!volumes.has(d.name) && d.cdrom === undefined)
      out.push(
        `${at}.domain.devices.disks[${i}].name: disk ${JSON.stringify(d.name)} has no volume of that name; the guest will start without it`,
      );
  });
  return out;
}

function duplicates(items: { name: string }[], at: string): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  items.forEach((item, i) => {
    if (seen.has(item.name))
      errors.push({
        path: `${at}[${i}].name`,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(item.name)}`,
      });
    seen.add(item.name);
    if (!DNS_LABEL.test(item.name) || item.name.length > 63) {
      errors.push({
        path: `${at}[${i}].name`,
        message: `Invalid value: ${JSON.stringify(item.name)}: must be a DNS label (lower case letters, digits and '-')`,
      });
    }
  });
  return errors;
}

function exactlyOne(item: Volume | Network, sources: string[], at: string, what: string): FieldError[] {
  const set = sources.filter((s) => (item as Record<string, unknown>)[s] !== undefined);
  if (set.length === 1) return [];
  if (set.length === 0) {
    return [
      {
        path: at,
        reason: 'FieldValueRequired',
        message: `Required value: a ${what} needs exactly one source (${sources.join(', ')})`,
      },
    ];
  }
  return [
    {
      path: `${at}.${set[1] ?? ''}`,
      reason: 'FieldValueForbidden',
      message: `Forbidden: a ${what} has exactly one source; found ${set.join(' and ')}`,
    },
  ];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** One pod network at most; Multus references are `name` or `namespace/name`. */
function checkNetworks(networks: Network[], at: string): FieldError[] {
  const errors: FieldError[] = [];
  const pods = networks.flatMap((n, i) => (n.pod !== undefined ? [i] : []));
  for (const i of pods.slice(1))
    errors.push({
      path: `${at}[${i}].pod`,
      reason: 'FieldValueForbidden',
      message: 'Forbidden: only one network may be the pod network',
    });
  networks.forEach((n, i) => {
    const ref = n.multus?.networkName;
    if (ref === undefined) return;
    const parts = ref.split('/');
    if (parts.length > 2 || parts.some((p) => !DNS_SUBDOMAIN.test(p) || p.length > 253))
      errors.push({
        path: `${at}[${i}].multus.networkName`,
        message: `Invalid value: ${JSON.stringify(ref)}: a NetworkAttachmentDefinition name, or namespace/name`,
      });
  });
  return errors;
}

function checkDisk(disk: Disk, at: string): FieldError[] {
  const targets = ['disk', 'lun', 'cdrom'].filter((t) => (disk as Record<string, unknown>)[t] !== undefined);
  if (targets.length > 1) {
    return [
      {
        path: `${at}.${targets[1] ?? ''}`,
        reason: 'FieldValueForbidden',
        message: `Forbidden: a disk has one device type; found ${targets.join(' and ')}`,
      },
    ];
  }
  return [];
}

function checkInterface(nic: Interface, networks: Network[], at: string): FieldError[] {
  const errors: FieldError[] = [];
  const bindings = ['masquerade', 'bridge', 'sriov', 'passt', 'passtBinding', 'binding'].filter(
    (b) => (nic as Record<string, unknown>)[b] !== undefined,
  );
  if (bindings.length > 1)
    errors.push({
      path: `${at}.${bindings[1] ?? ''}`,
      reason: 'FieldValueForbidden',
      message: `Forbidden: an interface has one binding; found ${bindings.join(' and ')}`,
    });
  if (networks.length > 0 && !networks.some((n) => n.name === nic.name)) {
    errors.push({
      path: `${at}.name`,
      reason: 'FieldValueNotFound',
      message: `Not found: ${JSON.stringify(nic.name)}: no network of that name in spec.networks`,
    });
  }
  if (nic.macAddress !== undefined && !MAC.test(nic.macAddress)) {
    errors.push({
      path: `${at}.macAddress`,
      message: `Invalid value: ${JSON.stringify(nic.macAddress)}: must be a MAC address such as 02:00:00:00:00:01`,
    });
  }
  const network = networks.find((n) => n.name === nic.name);
  if (network?.multus !== undefined && nic.masquerade !== undefined) {
    errors.push({
      path: `${at}.masquerade`,
      reason: 'FieldValueForbidden',
      message: 'Forbidden: masquerade is only for the default (pod) network',
    });
  }
  return errors;
}

function bootOrders(spec: VirtualMachineInstanceSpec, domain: string): FieldError[] {
  const seen = new Map<number, string>();
  const errors: FieldError[] = [];
  const check = (order: number | undefined, path: string): void => {
    if (order === undefined) return;
    const other = seen.get(order);
    if (other !== undefined)
      errors.push({
        path,
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: boot order ${order} is also used by ${other}`,
      });
    else seen.set(order, path);
  };
  (spec.domain.devices.disks ?? []).forEach((d, i) =>
    check(d.bootOrder, `${domain}.devices.disks[${i}].bootOrder`),
  );
  (spec.domain.devices.interfaces ?? []).forEach((n, i) =>
    check(n.bootOrder, `${domain}.devices.interfaces[${i}].bootOrder`),
  );
  return errors;
}

function resources(
  spec: VirtualMachineInstanceSpec,
  domain: string,
  ctx: VmiValidationContext,
): FieldError[] {
  const errors: FieldError[] = [];
  const req = spec.domain.resources?.requests ?? {};
  const lim = spec.domain.resources?.limits ?? {};
  const value = (q: string | number | undefined): number | undefined =>
    q === undefined ? undefined : parseQuantity(q)?.value;
  for (const [name, list, kind] of [
    ['memory', req, 'requests'],
    ['memory', lim, 'limits'],
    ['cpu', req, 'requests'],
    ['cpu', lim, 'limits'],
  ] as const) {
    const v = value(list[name]);
    if (v !== undefined && v <= 0)
      errors.push({
        path: `${domain}.resources.${kind}.${name}`,
        message: `Invalid value: ${JSON.stringify(list[name])}: must be greater than zero`,
      });
  }
  for (const name of ['memory', 'cpu'] as const) {
    const r = value(req[name]);
    const l = value(lim[name]);
    if (r !== undefined && l !== undefined && l < r) {
      errors.push({
        path: `${domain}.resources.requests.${name}`,
        message: `Invalid value: ${JSON.stringify(req[name])}: must be less than or equal to the ${name} limit ${JSON.stringify(lim[name])}`,
      });
    }
  }
  const guest = value(spec.domain.memory?.guest);
  if (ctx.instancetype === true) {
    const provided: [unknown, string][] = [
      [spec.domain.cpu?.cores, 'cpu.cores'],
      [spec.domain.cpu?.sockets, 'cpu.sockets'],
      [spec.domain.cpu?.threads, 'cpu.threads'],
      [spec.domain.memory?.guest, 'memory.guest'],
      [req['cpu'], 'resources.requests.cpu'],
      [req['memory'], 'resources.requests.memory'],
    ];
    for (const [v, path] of provided) {
      if (v !== undefined)
        errors.push({
          path: `${domain}.${path}`,
          reason: 'FieldValueForbidden',
          message: `Forbidden: VM field ${domain}.${path} conflicts with the selected instance type`,
        });
    }
  } else if (
    ctx.template !== true &&
    spec.domain.memory?.guest === undefined &&
    req['memory'] === undefined &&
    lim['memory'] === undefined
  ) {
    errors.push({
      path: `${domain}.resources.requests.memory`,
      reason: 'FieldValueRequired',
      message: `Required value: set ${domain}.resources.requests.memory or ${domain}.memory.guest, or select an instance type`,
    });
  }
  if (guest !== undefined && guest <= 0)
    errors.push({ path: `${domain}.memory.guest`, message: `Invalid value: must be greater than zero` });
  return errors;
}
