/**
 * Test fixtures for the inspection rule (src/storage/inspect.ts): real images made by qemu-img in a
 * temporary directory, each naming a "host file" (a secret the test writes) in another way, beside
 * the self-contained images that must still import. Every evil image, if opened the way qemu-img
 * probes by default, reads the secret: `leaks()` proves it, so a fixture that stopped being evil
 * would fail the tests instead of passing them vacuously.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the "host file" holds: no imported volume may ever contain it. */
export const HOST_SECRET = 'HOST-SECRET-never-in-a-volume\n';

export interface EvilImages {
  dir: string;
  /** The host file the evil images point at. */
  hostFile: string;
  /** File name → what the refusal must say. */
  evil: Record<string, RegExp>;
  /** File name → the format it is imported as. */
  good: Record<string, string>;
}

const img = (args: string[]): void => void execFileSync('qemu-img', args, { stdio: 'pipe' });

/** Replaces the embedded descriptor of a sparse VMDK, and optionally its capacity. */
function rewriteVmdk(src: string, dst: string, descriptor: string, capacity?: bigint): void {
  const b = readFileSync(src);
  const at = Number(b.readBigUInt64LE(28)) * 512;
  const size = Number(b.readBigUInt64LE(36)) * 512;
  if (capacity !== undefined) b.writeBigUInt64LE(capacity, 12);
  b.fill(0, at, at + size);
  b.write(descriptor, at, 'latin1');
  writeFileSync(dst, b);
}

export function makeEvilImages(dir: string): EvilImages {
  const hostFile = join(dir, 'host-secret.txt');
  writeFileSync(
    hostFile,
    Buffer.concat([Buffer.from(HOST_SECRET), Buffer.alloc(65536 - HOST_SECRET.length)]),
  );
  const p = (name: string): string => join(dir, name);
  const raw = Buffer.alloc(1048576);
  raw.write('self-contained\n');
  writeFileSync(p('ok.raw'), raw);

  // VMDK descriptor with a flat extent that is a host file (issue 12, item 1).
  writeFileSync(
    p('flat.vmdk'),
    `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8 FLAT "${hostFile}" 0\n\nddb.adapterType = "ide"\n`,
  );
  // A sparse VMDK header of capacity 0: qemu opens its embedded descriptor's extents.
  img(['convert', '-q', '-f', 'raw', '-O', 'vmdk', p('ok.raw'), p('ok-sparse.vmdk')]);
  rewriteVmdk(
    p('ok-sparse.vmdk'),
    p('embedded-flat.vmdk'),
    `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "${hostFile}" 0\n`,
    0n,
  );
  // A sparse VMDK whose descriptor names a parent (VMDK's backing file).
  rewriteVmdk(
    p('ok-sparse.vmdk'),
    p('parent.vmdk'),
    `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=12345678\ncreateType="monolithicSparse"\nparentFileNameHint="${hostFile}"\nRW 2048 SPARSE "parent.vmdk"\n`,
  );
  // qcow2 with a backing file (item 2), in both header versions, and with an external data file.
  img(['create', '-q', '-f', 'qcow2', '-b', hostFile, '-F', 'raw', p('backed.qcow2'), '1M']);
  img([
    'create',
    '-q',
    '-f',
    'qcow2',
    '-o',
    'compat=0.10',
    '-b',
    hostFile,
    '-F',
    'raw',
    p('backed-v2.qcow2'),
    '1M',
  ]);
  // qemu-img create truncates a data file it is given: make it on a copy, then point it at the host file.
  writeFileSync(p('data.bin'), readFileSync(hostFile));
  img([
    'create',
    '-q',
    '-f',
    'qcow2',
    '-o',
    `data_file=${p('data.bin')},data_file_raw=on`,
    p('datafile.qcow2'),
    '64K',
  ]);
  img(['amend', '-q', '-f', 'qcow2', '-o', `data_file=${hostFile}`, p('datafile.qcow2')]);
  // A differencing VHD and VHDX, a differencing VDI (flags flipped in real images).
  img(['convert', '-q', '-f', 'raw', '-O', 'vpc', p('ok.raw'), p('ok.vhd')]);
  const vhd = readFileSync(p('ok.vhd'));
  vhd.writeUInt32BE(4, 60);
  writeFileSync(p('differencing.vhd'), vhd);
  img(['convert', '-q', '-f', 'raw', '-O', 'vhdx', p('ok.raw'), p('ok.vhdx')]);
  writeFileSync(p('differencing.vhdx'), withVhdxParentFlag(readFileSync(p('ok.vhdx'))));
  img(['convert', '-q', '-f', 'raw', '-O', 'vdi', p('ok.raw'), p('ok.vdi')]);
  const vdi = readFileSync(p('ok.vdi'));
  vdi.writeUInt32LE(4, 76);
  writeFileSync(p('differencing.vdi'), vdi);
  img(['create', '-q', '-f', 'qed', p('image.qed'), '1M']);

  img(['convert', '-q', '-f', 'raw', '-O', 'qcow2', p('ok.raw'), p('ok.qcow2')]);
  img([
    'convert',
    '-q',
    '-f',
    'raw',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    p('ok.raw'),
    p('ok-stream.vmdk'),
  ]);
  img(['convert', '-q', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed', p('ok.raw'), p('ok-fixed.vhd')]);
  execFileSync('genisoimage', ['-quiet', '-o', p('ok.iso'), '-V', 'TEST', p('ok.raw')]);

  const refersTo = /refers to another file/;
  return {
    dir,
    hostFile,
    evil: {
      'flat.vmdk': /VMDK descriptor, whose extents are other files/,
      'embedded-flat.vmdk': refersTo,
      'parent.vmdk': /refers to another file \(a VMDK parent\)/,
      'backed.qcow2': /refers to another file \(a qcow2 backing file\)/,
      'backed-v2.qcow2': /refers to another file \(a qcow2 backing file\)/,
      'datafile.qcow2': /refers to another file \(a qcow2 external data file\)/,
      'differencing.vhd': /differencing VHD/,
      'differencing.vhdx': /differencing VHDX/,
      'differencing.vdi': /differencing VDI/,
      'image.qed': /QED image/,
    },
    good: {
      'ok.raw': 'raw',
      'ok.iso': 'raw',
      'ok.qcow2': 'qcow2',
      'ok-sparse.vmdk': 'vmdk',
      'ok-stream.vmdk': 'vmdk',
      'ok.vhd': 'vpc',
      'ok-fixed.vhd': 'vpc',
      'ok.vhdx': 'vhdx',
      'ok.vdi': 'vdi',
    },
  };
}

/** Sets HasParent in a VHDX's file parameters (the metadata is not checksummed). */
function withVhdxParentFlag(b: Buffer): Buffer {
  const regions = 192 * 1024;
  const metadataGuid = Buffer.from('06a27c8b90479a4bb8fe575f050f886e', 'hex');
  const paramsGuid = Buffer.from('3767a1ca36fa434db3b633f0aa44e76b', 'hex');
  for (let i = 0; i < b.readUInt32LE(regions + 8); i++) {
    const e = regions + 16 + i * 32;
    if (!b.subarray(e, e + 16).equals(metadataGuid)) continue;
    const table = Number(b.readBigUInt64LE(e + 16));
    for (let j = 0; j < b.readUInt16LE(table + 10); j++) {
      const m = table + 32 + j * 32;
      if (!b.subarray(m, m + 16).equals(paramsGuid)) continue;
      const flags = table + b.readUInt32LE(m + 16) + 4;
      b.writeUInt32LE(b.readUInt32LE(flags) | 2, flags);
      return b;
    }
  }
  throw new Error('no VHDX file parameters found');
}

/** Whether qemu-img, left to probe as before the rule, reads the host secret through `file`. */
export function leaks(file: string): boolean {
  const out = `${file}.probe.raw`;
  try {
    execFileSync('qemu-img', ['convert', '-O', 'raw', file, out], { stdio: 'pipe' });
    return readFileSync(out).includes(HOST_SECRET);
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-f', out]);
  }
}
