/**
 * `hikube vm import FILE.ova [--name N] [-n NS] [--hikube] [--allow-unknown] [--dry-run]`: a
 * VMware/VirtualBox OVA becomes a VirtualMachine (with --hikube, Hikube's VMInstance on VMDisks).
 * The archive is read twice, streamed: first every member name is checked (plain files only, no
 * path tricks, the OVF descriptor first, as the OVF standard puts it) and the OVF parsed
 * (src/storage/ova); the plan is printed (instance type, exact or nearest larger, and every device
 * left out). Devices the importer does not know stop the import unless --allow-unknown. Then each
 * disk member is extracted to a private temporary file and uploaded into a DataVolume through the
 * upload path every image takes (so the image inspection rule applies: streamOptimized VMDK
 * passes), and the VM is created, Halted.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { extract, type Header } from 'tar-stream';
import { INSTANCE_SIZES } from '../api/catalog.js';
import { OvfError, parseOvf, type Ovf } from '../storage/ova/ovf.js';
import {
  chooseInstanceType,
  memberNameProblem,
  objectName,
  planHikube,
  planImport,
} from '../storage/ova/plan.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { uploadDisk } from './image.js';

export const IMPORT_USAGE = `usage: hikube vm import FILE.ova [--name NAME] [-n NS] [--hikube] [--allow-unknown] [--dry-run] [--timeout 600]
  creates a VM (Halted) from an OVA: its disks uploaded into DataVolumes, the instance type fitting its CPUs and memory`;

/** The OVF descriptor is read whole; one larger than this is not a descriptor. */
const MAX_OVF_BYTES = 4 * 1024 * 1024;

/** Walks the OVA's members in order; `visit` reads or skips each (the entry must be drained). */
async function walk(file: string, visit: (entry: Entry, index: number) => Promise<void>): Promise<void> {
  const input = createReadStream(file);
  const tar = extract();
  input.on('error', (err) => tar.destroy(err));
  input.pipe(tar);
  let i = 0;
  for await (const entry of tar) await visit(entry, i++);
}

/** One member of the archive as tar-stream gives it: its header, and its bytes to read once. */
type Entry = AsyncIterable<unknown> & { header: Header };

/** Reads a member through, to reach the next one. */
async function skip(entry: Entry): Promise<void> {
  for await (const chunk of entry) void chunk;
}

async function readText(entry: Entry, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    const bytes = Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size > limit) throw new OvfError(`the OVF descriptor is larger than ${limit} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Pass 1: member names checked, the OVF parsed. Throws with every problem found. */
export async function readOva(file: string): Promise<{ ovf: Ovf; members: Set<string> }> {
  const problems: string[] = [];
  const members = new Set<string>();
  let xml: string | undefined;
  await walk(file, async (entry, index) => {
    const { name, type } = entry.header;
    const problem = memberNameProblem(name);
    if (problem !== undefined) problems.push(problem);
    else if (type !== 'file') problems.push(`member ${JSON.stringify(name)} is a ${type}, not a file`);
    else members.add(name);
    if (index === 0 && name.toLowerCase().endsWith('.ovf') && problem === undefined)
      xml = await readText(entry, MAX_OVF_BYTES);
    else await skip(entry);
  });
  if (xml === undefined) problems.push('the first member of an OVA must be its .ovf descriptor');
  if (problems.length > 0 || xml === undefined)
    throw new OvfError(`refusing the OVA:\n  ${problems.join('\n  ')}`);
  const ovf = parseOvf(xml);
  for (const d of ovf.disks)
    if (!members.has(d.href))
      throw new OvfError(`disk ${d.id}: the OVA has no member ${JSON.stringify(d.href)}`);
  return { ovf, members };
}

/** Pass 2: the named members extracted into `dir` (file names of our own). */
async function extractMembers(file: string, wanted: Map<string, string>): Promise<void> {
  await walk(file, async (entry) => {
    const target = wanted.get(entry.header.name);
    if (target === undefined) return skip(entry);
    await pipeline(Readable.from(entry), createWriteStream(target, { mode: 0o600 }));
  });
}

export async function runVmImport(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      name: { type: 'string' },
      'allow-unknown': { type: 'boolean', default: false },
      hikube: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '600' },
    },
  });
  const [file, extra] = positionals;
  if (file === undefined || extra !== undefined) throw new UsageError(IMPORT_USAGE);
  if (/^[a-z]+:\/\//i.test(file))
    throw new UsageError(
      `importing an OVA from a URL is not supported yet: download it, then import the file\n${IMPORT_USAGE}`,
    );

  const { ovf } = await readOva(file);
  const name = objectName(values.name ?? ovf.name);
  const choice = chooseInstanceType(ovf.cpus, ovf.memoryBytes, INSTANCE_SIZES);
  if (choice === undefined)
    throw new Error(
      `no instance type has ${ovf.cpus} vCPU and ${(ovf.memoryBytes / 2 ** 30).toFixed(2)} GiB or more`,
    );
  const plan = planImport(ovf, name, choice);
  const hikube = values.hikube ? planHikube(ovf, name, choice) : undefined;
  process.stdout.write(
    `OVA ${file}: VM ${JSON.stringify(ovf.name)}, ${ovf.cpus} vCPU, ${Math.round(ovf.memoryBytes / 2 ** 20)} MiB, firmware ${ovf.firmware}, ${ovf.disks.length} disk(s), ${ovf.nics.length} NIC(s)\n`,
  );
  for (const n of hikube?.notes ?? plan.notes) process.stdout.write(`  ${n}\n`);
  for (const u of ovf.unknown) process.stdout.write(`  unknown device: ${u}\n`);
  if (ovf.unknown.length > 0 && !values['allow-unknown'])
    throw new Error(
      `the OVA has ${ovf.unknown.length} device(s) this importer does not know (listed above): nothing was created; --allow-unknown imports without them`,
    );
  if (values['dry-run']) return;

  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const timeoutS = Number(values.timeout);
  const apps = `/apis/apps.cozystack.io/v1alpha1/namespaces/${encodeURIComponent(ns)}`;
  for (const d of hikube?.disks ?? []) await c.call('POST', `${apps}/vmdisks`, d);
  const dir = await mkdtemp(join(tmpdir(), 'hikube-ova-'));
  try {
    const files = new Map(plan.volumes.map((v, i) => [v.href, join(dir, `disk${i}`)]));
    await extractMembers(file, files);
    // With --hikube each VMDisk's own DataVolume waits for the upload; otherwise it is made here.
    if (hikube !== undefined)
      for (const u of hikube.uploads)
        await uploadDisk(c, ns, u.dataVolume, files.get(u.href) ?? '', { create: false, timeoutS });
    else
      for (const v of plan.volumes)
        await uploadDisk(c, ns, v.dataVolume, files.get(v.href) ?? '', {
          create: true,
          size: v.size,
          timeoutS,
        });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (hikube !== undefined) {
    await c.call('POST', `${apps}/vminstances`, hikube.instance);
    process.stdout.write(`vminstance.apps.cozystack.io/${name} created (Halted)\n`);
    return;
  }
  await c.call('POST', `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(ns)}/virtualmachines`, plan.vm);
  process.stdout.write(`virtualmachine.kubevirt.io/${name} created (Halted): hikube start ${name}\n`);
}
