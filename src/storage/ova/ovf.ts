/**
 * Reads an OVF descriptor (DMTF DSP0243, as VMware and VirtualBox write it) into what an import
 * needs: the VM's name, CPUs, memory, firmware, disks (file, capacity, format) and NICs. Every
 * hardware item is sorted into mapped (CPU, memory, disks, NICs, disk controllers), ignored (devices
 * a KubeVirt VM has its own of, or none: CD-ROM, floppy, USB, video, sound, serial) and unknown;
 * unknown ones are reported for the user to decide, never guessed at. Pure: no files, no network.
 */
import { XMLParser } from 'fast-xml-parser';

export interface OvfDisk {
  /** The disk's ovf:diskId. */
  id: string;
  /** The OVA member holding it (its References/File href). */
  href: string;
  capacityBytes: number;
  /** The ovf:format URI (VMware's vmdk.html#streamOptimized for exports). */
  format: string;
}

export interface OvfNic {
  name: string;
  /** The adapter model as the OVF names it (E1000, E1000e, VmxNet3, PCNet32…). */
  model: string;
  network: string;
}

export interface Ovf {
  name: string;
  cpus: number;
  memoryBytes: number;
  firmware: 'bios' | 'efi';
  disks: OvfDisk[];
  nics: OvfNic[];
  /** Devices left out on purpose, each with why. */
  ignored: string[];
  /** Devices this importer does not know: reported, not guessed. */
  unknown: string[];
}

export class OvfError extends Error {}

type Node = Record<string, unknown>;

const ARRAYS = new Set([
  'Item',
  'StorageItem',
  'EthernetPortItem',
  'File',
  'Disk',
  'Config',
  'VirtualSystem',
]);

/** CIM ResourceType codes that are mapped, or ignored with a reason. */
const CPU = 3;
const MEMORY = 4;
const ETHERNET = 10;
const DISK = 17;
const CONTROLLERS = new Set([5, 6, 20]); // IDE, parallel SCSI, other storage (SATA, NVMe)
const IGNORED: Readonly<Record<number, string>> = {
  14: 'floppy drive',
  15: 'CD drive',
  16: 'DVD drive',
  21: 'serial port (the VM has its own console)',
  23: 'USB controller',
  24: 'video card (the VM has its own)',
  35: 'sound card',
};

const text = (v: unknown): string => {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  if (v !== null && typeof v === 'object' && '#text' in v) return text((v as Node)['#text']);
  return '';
};
const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : v === undefined ? [] : [v as Node]);

/** Bytes per unit of a DSP0004 programmatic unit: `byte`, `byte * 2^20`, or the old `MegaBytes`. */
export function unitBytes(unit: string | undefined): number | undefined {
  const u = (unit ?? 'byte').replace(/\s+/g, '').toLowerCase();
  const named: Record<string, number> = {
    byte: 1,
    bytes: 1,
    kilobytes: 2 ** 10,
    kb: 2 ** 10,
    megabytes: 2 ** 20,
    mb: 2 ** 20,
    gigabytes: 2 ** 30,
    gb: 2 ** 30,
    terabytes: 2 ** 40,
  };
  if (named[u] !== undefined) return named[u];
  const m = /^byte\*(\d+)\^(\d+)$/.exec(u);
  return m === null ? undefined : Number(m[1]) ** Number(m[2]);
}

function bytes(value: string, unit: string | undefined, what: string): number {
  const scale = unitBytes(unit);
  const n = Number(value);
  if (scale === undefined) throw new OvfError(`${what}: unknown allocation unit ${JSON.stringify(unit)}`);
  if (!Number.isFinite(n) || n <= 0)
    throw new OvfError(`${what}: ${JSON.stringify(value)} is not a positive number`);
  return n * scale;
}

export function parseOvf(xml: string): Ovf {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    processEntities: false,
    isArray: (name) => ARRAYS.has(name),
  });
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new OvfError(`the OVF descriptor is not XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const env = doc['Envelope'] as Node | undefined;
  if (env === undefined) throw new OvfError('the OVF descriptor has no Envelope');
  const systems = list(env['VirtualSystem']);
  if (systems.length !== 1)
    throw new OvfError(`the OVF describes ${systems.length} virtual systems: one is imported at a time`);
  const vs = systems[0] as Node;
  const files = new Map(
    list((env['References'] as Node | undefined)?.['File']).map((f) => [text(f['@id']), text(f['@href'])]),
  );
  const disks = new Map<string, OvfDisk>();
  for (const d of list((env['DiskSection'] as Node | undefined)?.['Disk'])) {
    const id = text(d['@diskId']);
    const href = files.get(text(d['@fileRef']));
    if (href === undefined) throw new OvfError(`disk ${JSON.stringify(id)} names no file of the References`);
    disks.set(id, {
      id,
      href,
      capacityBytes: bytes(
        text(d['@capacity']),
        text(d['@capacityAllocationUnits']) || undefined,
        `disk ${id}`,
      ),
      format: text(d['@format']),
    });
  }
  const hw = vs['VirtualHardwareSection'] as Node | undefined;
  if (hw === undefined) throw new OvfError('the virtual system has no VirtualHardwareSection');
  const items = [...list(hw['Item']), ...list(hw['StorageItem']), ...list(hw['EthernetPortItem'])];
  const out: Ovf = {
    name: text(vs['Name']) || text(vs['@id']),
    cpus: 0,
    memoryBytes: 0,
    firmware: 'bios',
    disks: [],
    nics: [],
    ignored: [],
    unknown: [],
  };
  for (const item of items) {
    const type = Number(text(item['ResourceType']));
    const label = text(item['ElementName']) || text(item['Description']) || `ResourceType ${type}`;
    if (type === CPU) out.cpus = Number(text(item['VirtualQuantity']));
    else if (type === MEMORY)
      out.memoryBytes = bytes(
        text(item['VirtualQuantity']),
        text(item['AllocationUnits']) || undefined,
        'memory',
      );
    else if (type === DISK) {
      const ref = text(item['HostResource']).replace(/^ovf:/, '');
      const id = /^\/disk\/(.+)$/.exec(ref)?.[1];
      const disk = id === undefined ? undefined : disks.get(id);
      if (disk === undefined)
        throw new OvfError(`${label}: names no disk of the DiskSection (${JSON.stringify(ref)})`);
      out.disks.push(disk);
    } else if (type === ETHERNET)
      out.nics.push({
        name: label,
        model: text(item['ResourceSubType']) || 'E1000',
        network: text(item['Connection']),
      });
    else if (CONTROLLERS.has(type)) continue;
    else if (IGNORED[type] !== undefined) out.ignored.push(`${label}: ${IGNORED[type]}, not imported`);
    else out.unknown.push(`${label} (ResourceType ${Number.isFinite(type) ? type : '?'})`);
  }
  for (const c of list(hw['Config']))
    if (text(c['@key']) === 'firmware' && text(c['@value']).toLowerCase() === 'efi') out.firmware = 'efi';
  if (!(out.cpus >= 1) || !Number.isInteger(out.cpus)) throw new OvfError('the OVF gives no CPU count');
  if (!(out.memoryBytes > 0)) throw new OvfError('the OVF gives no memory size');
  if (out.disks.length === 0) throw new OvfError('the OVF attaches no disk');
  return out;
}
