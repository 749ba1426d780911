/**
 * `hikube vm import FILE.ova|URL [--name N] [-n NS] [--hikube] [--allow-unknown] [--dry-run]`: a
 * VMware/VirtualBox OVA becomes a VirtualMachine (with --hikube, Hikube's VMInstance on VMDisks).
 * The archive, a file or an http(s) URL, is read once, streamed (src/storage/ova/archive.ts):
 * every member name is checked, the OVF parsed and the plan printed (instance type, exact or
 * nearest larger, and every device left out) before any disk is read. Devices the importer does
 * not know stop the import unless --allow-unknown. Each disk member is spooled to a private
 * temporary file and, once the whole archive passed, uploaded into a DataVolume through the upload
 * path every image takes (so the image inspection rule applies: streamOptimized VMDK passes), and
 * the VM is created, Halted.
 *
 * A URL is fetched here, in the CLI process, under the platform's outbound rule and switch
 * (src/network/outbound.ts) and its switch, by the same name (--allow-private-targets or
 * HIKUBE_ALLOW_PRIVATE_TARGETS=1): loopback, private and link-local targets, redirects included,
 * are refused unless it is set. The fetch runs with the CLI user's own network reach, not the
 * platform's, so the switch is the user's to set, as it is the admin's for `hikube up`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { INSTANCE_SIZES } from '../api/catalog.js';
import { parseQuantity } from '../api/quantity.js';
import { outboundPolicyFromEnv } from '../network/outbound.js';
import { readOvaStream, type OvaContents } from '../storage/ova/archive.js';
import type { Ovf } from '../storage/ova/ovf.js';
import {
  chooseInstanceType,
  objectName,
  planHikube,
  planImport,
  type HikubePlan,
  type ImportPlan,
} from '../storage/ova/plan.js';
import { openOva } from '../storage/ova/source.js';
import { connectionOptions, loadClient } from './context.js';
import { UsageError } from './errors.js';
import { uploadDisk } from './image.js';

export const IMPORT_USAGE = `usage: hikube vm import FILE.ova|URL [--name NAME] [-n NS] [--hikube] [--allow-unknown] [--dry-run] [--max-size 64Gi] [--allow-private-targets] [--timeout 600]
  creates a VM (Halted) from an OVA (a file, or an http(s) URL): its disks uploaded into DataVolumes, the instance type fitting its CPUs and memory`;

/** An OVA larger than this is refused unless --max-size says otherwise. */
const DEFAULT_MAX_SIZE = '64Gi';

interface Planned {
  plan: ImportPlan;
  hikube: HikubePlan | undefined;
}

/** The plan for an OVF, printed; throws when the OVF has devices we do not know and they are not allowed. */
function plan(
  source: string,
  ovf: Ovf,
  options: { name: string | undefined; hikube: boolean; allowUnknown: boolean },
): Planned {
  const name = objectName(options.name ?? ovf.name);
  const choice = chooseInstanceType(ovf.cpus, ovf.memoryBytes, INSTANCE_SIZES);
  if (choice === undefined)
    throw new Error(
      `no instance type has ${ovf.cpus} vCPU and ${(ovf.memoryBytes / 2 ** 30).toFixed(2)} GiB or more`,
    );
  const plan = planImport(ovf, name, choice);
  const hikube = options.hikube ? planHikube(ovf, name, choice) : undefined;
  process.stdout.write(
    `OVA ${source}: VM ${JSON.stringify(ovf.name)}, ${ovf.cpus} vCPU, ${Math.round(ovf.memoryBytes / 2 ** 20)} MiB, firmware ${ovf.firmware}, ${ovf.disks.length} disk(s), ${ovf.nics.length} NIC(s)\n`,
  );
  for (const n of hikube?.notes ?? plan.notes) process.stdout.write(`  ${n}\n`);
  for (const u of ovf.unknown) process.stdout.write(`  unknown device: ${u}\n`);
  if (ovf.unknown.length > 0 && !options.allowUnknown)
    throw new Error(
      `the OVA has ${ovf.unknown.length} device(s) this importer does not know (listed above): nothing was created; --allow-unknown imports without them`,
    );
  return { plan, hikube };
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
      'max-size': { type: 'string', default: DEFAULT_MAX_SIZE },
      'allow-private-targets': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '600' },
    },
  });
  const [location, extra] = positionals;
  if (location === undefined || extra !== undefined) throw new UsageError(IMPORT_USAGE);
  const maxSize = parseQuantity(values['max-size']);
  if (maxSize === undefined || maxSize.value <= 0)
    throw new UsageError(
      `--max-size ${JSON.stringify(values['max-size'])} is not a size such as 64Gi\n${IMPORT_USAGE}`,
    );

  const fromEnv = outboundPolicyFromEnv();
  const policy = { allowPrivateTargets: values['allow-private-targets'] || fromEnv.allowPrivateTargets };
  const source = await openOva(location, { policy, maxBytes: maxSize.value });
  let planned: Planned | undefined;
  const dir = values['dry-run'] ? undefined : await mkdtemp(join(tmpdir(), 'hikube-ova-'));
  try {
    const contents = await readOvaStream(source.stream, {
      maxBytes: maxSize.value,
      ...(dir !== undefined ? { spoolDir: dir } : {}),
      onOvf: (ovf) => {
        planned = plan(source.label, ovf, {
          name: values.name,
          hikube: values.hikube,
          allowUnknown: values['allow-unknown'],
        });
      },
    });
    if (planned === undefined || dir === undefined) return;
    await create(values, planned, contents, Number(values.timeout));
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** The objects of the plan, the spooled disks uploaded into their DataVolumes. */
async function create(
  values: Parameters<typeof loadClient>[0] & { namespace?: string },
  { plan, hikube }: Planned,
  contents: OvaContents,
  timeoutS: number,
): Promise<void> {
  const c = loadClient(values);
  const ns = values.namespace ?? c.namespace;
  const file = (href: string): string => contents.files.get(href) ?? '';
  const apps = `/apis/apps.cozystack.io/v1alpha1/namespaces/${encodeURIComponent(ns)}`;
  // With --hikube each VMDisk's own DataVolume waits for the upload; otherwise it is made here.
  if (hikube !== undefined) {
    for (const d of hikube.disks) await c.call('POST', `${apps}/vmdisks`, d);
    for (const u of hikube.uploads)
      await uploadDisk(c, ns, u.dataVolume, file(u.href), { create: false, timeoutS });
    await c.call('POST', `${apps}/vminstances`, hikube.instance);
    process.stdout.write(`vminstance.apps.cozystack.io/${plan.name} created (Halted)\n`);
    return;
  }
  for (const v of plan.volumes)
    await uploadDisk(c, ns, v.dataVolume, file(v.href), { create: true, size: v.size, timeoutS });
  await c.call('POST', `/apis/kubevirt.io/v1/namespaces/${encodeURIComponent(ns)}/virtualmachines`, plan.vm);
  process.stdout.write(
    `virtualmachine.kubevirt.io/${plan.name} created (Halted): hikube start ${plan.name}\n`,
  );
}
