/**
 * Snapshots of pool volumes as chains of qcow2 layers (see README.md, "Snapshots"). A volume's
 * file `POOL/pvc-UID.qcow2` becomes a symlink to its active layer in `POOL/pvc-UID.qcow2.layers/`;
 * a snapshot freezes the active layer and puts a new empty one over it, a restore or a linked
 * clone puts a new empty layer over a frozen one, and deleting a snapshot merges its layer into
 * the layers over it. Layers are never renamed once written, so the paths QEMU opened stay true.
 *
 * Backup points are such frozen layers too (src/node/backups.ts); a released one at the bottom of
 * its chain is marked unowned and goes with its last child (`dropLayer`).
 *
 * This module works on files no QEMU has open (offline); the node agent does the same over QMP
 * for a running guest (src/node/snapshots.ts).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  access,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/** Runs qemu-img with these arguments; rejects with its stderr. The adapter is in qemu-img.ts. */
export type QemuImgRunner = (args: string[]) => Promise<string>;

export const LAYERS_SUFFIX = '.layers';
export const layerDirOf = (volumePath: string): string => `${volumePath}${LAYERS_SUFFIX}`;
export const newLayerPath = (volumePath: string): string =>
  join(layerDirOf(volumePath), `${randomBytes(6).toString('hex')}.qcow2`);

/** The backing file named in a qcow2 header (absolute), or undefined (none, or not qcow2). */
export async function backingOf(file: string): Promise<string | undefined> {
  const fh = await open(file, constants.O_RDONLY);
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x514649fb) return undefined;
    const offset = Number(head.readBigUInt64BE(8));
    const size = head.readUInt32BE(16);
    if (offset === 0 || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    await fh.read(name, 0, size, offset);
    const text = name.toString('utf8');
    return isAbsolute(text) ? text : resolve(dirname(file), text);
  } finally {
    await fh.close();
  }
}

/** The file a volume's guest should open: the active layer, or the volume file itself. */
export async function activeLayer(volumePath: string): Promise<string> {
  return realpath(volumePath);
}

/**
 * Turns a plain volume file into the layered layout (the file moves into the layer directory and
 * the volume path becomes a symlink to it), so snapshots never rename a file a guest has open.
 * Crash-safe: a hard link first, then an atomic rename of the symlink over the file. Raw volumes
 * stay as they are (qcow2 layers only). Returns the active layer.
 */
export async function adopt(volumePath: string): Promise<string> {
  const st = await lstat(volumePath);
  if (st.isSymbolicLink() || !volumePath.endsWith('.qcow2')) return realpath(volumePath);
  await mkdir(layerDirOf(volumePath), { recursive: true });
  const base = newLayerPath(volumePath);
  await link(volumePath, base);
  await pointTo(volumePath, base);
  return base;
}

/** Points the volume at `layer` in one atomic step (a new symlink renamed over the old one). */
export async function pointTo(volumePath: string, layer: string): Promise<void> {
  const tmp = `${volumePath}.${randomBytes(4).toString('hex')}.link`;
  await symlink(layer, tmp);
  try {
    await rename(tmp, volumePath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A new empty layer over `backing`, of the same virtual size. */
export async function createLayer(qemuImg: QemuImgRunner, backing: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const info = JSON.parse(await qemuImg(['info', '-U', '--output=json', '-f', 'qcow2', backing])) as {
    'virtual-size': number;
  };
  await qemuImg([
    'create',
    '-q',
    '-f',
    'qcow2',
    '-u',
    '-b',
    backing,
    '-F',
    'qcow2',
    path,
    String(info['virtual-size']),
  ]);
}

/** Offline snapshot of a volume no guest has open: returns the frozen layer (the former active). */
export async function snapshotOffline(qemuImg: QemuImgRunner, volumePath: string): Promise<string> {
  const frozen = await adopt(volumePath);
  const next = newLayerPath(volumePath);
  await createLayer(qemuImg, frozen, next);
  await pointTo(volumePath, next);
  return frozen;
}

/**
 * Points the volume at a new empty layer over `layer` (a restore in place, or a linked clone
 * into a blank volume), or at a full copy of it. The former active goes when nothing is built on it.
 */
export async function restoreOffline(
  qemuImg: QemuImgRunner,
  volumePath: string,
  layer: string,
  full = false,
): Promise<string> {
  await checkLayer(layer);
  const old = await lstat(volumePath).then(
    (st) => (st.isSymbolicLink() ? realpath(volumePath) : volumePath),
    () => undefined,
  );
  const next = newLayerPath(volumePath);
  if (full) {
    await mkdir(dirname(next), { recursive: true });
    await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', layer, next]);
  } else await createLayer(qemuImg, layer, next);
  await pointTo(volumePath, next);
  if (old !== undefined && old !== volumePath && (await childrenOf(old)).length === 0) await dropLayer(old);
  return next;
}

/**
 * The real path of `layer` when it is a frozen layer of a pool (a qcow2 file in a `….layers`
 * directory), else an error. Snapshot contents name their layers by path in an annotation: a path
 * naming any other file would make a restore read it (as a backing file), or a delete remove it.
 */
export async function checkLayer(layer: string): Promise<string> {
  const real = await realpath(layer).catch(() => undefined);
  const refuse = (why: string): Error =>
    new Error(`${JSON.stringify(layer)} is not a snapshot layer: ${why}`);
  if (real === undefined) throw refuse('it does not exist');
  if (!dirname(real).endsWith(LAYERS_SUFFIX) || !real.endsWith('.qcow2'))
    throw refuse('it is not in a layer directory of a storage pool');
  const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (!(await fh.stat()).isFile() || !head.equals(Buffer.from('QFI\xfb', 'latin1')))
      throw refuse('it is not a qcow2 file');
  } finally {
    await fh.close();
  }
  return real;
}

/** The pool directory a layer or volume file belongs to. */
function poolOf(file: string): string {
  const dir = dirname(file);
  return dir.endsWith(LAYERS_SUFFIX) ? dirname(dir) : dir;
}

/** Every qcow2 file of the pool (volume files and layers) whose backing file is `layer`. */
export async function childrenOf(layer: string): Promise<string[]> {
  const pool = poolOf(layer);
  const out: string[] = [];
  const files: string[] = [];
  for (const entry of await readdir(pool, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.endsWith(LAYERS_SUFFIX)) {
      for (const f of await readdir(join(pool, entry.name)))
        if (f.endsWith('.qcow2')) files.push(join(pool, entry.name, f));
    } else if (entry.isFile() && entry.name.endsWith('.qcow2')) files.push(join(pool, entry.name));
  }
  for (const f of files) {
    const b = await backingOf(f).catch(() => undefined);
    if (b === layer) out.push(f);
  }
  return out.sort();
}

/** A child that a running guest has open: merging into it goes through that guest's QEMU. */
export type LiveMerge = (child: string, base: string | undefined) => Promise<boolean>;

/**
 * Deletes a frozen layer without changing what any other layer reads: its data is merged into
 * each layer built on it (qemu-img rebase offline, QMP block-stream through `live` when a guest
 * has the child open), then the file goes. Other snapshots' layers keep their contents.
 */
export async function deleteLayer(qemuImg: QemuImgRunner, layer: string, live: LiveMerge): Promise<void> {
  if ((await lstat(layer).catch(() => undefined)) === undefined) return;
  await checkLayer(layer);
  const parent = await backingOf(layer).catch(() => undefined);
  for (const child of await childrenOf(layer)) {
    if (await live(child, parent)) continue;
    await qemuImg([
      'rebase',
      '-q',
      '-f',
      'qcow2',
      '-b',
      parent ?? '',
      ...(parent !== undefined ? ['-F', 'qcow2'] : []),
      child,
    ]);
  }
  await dropLayer(layer);
}

/** Removes a volume: its symlink and its active layer; frozen layers go with their snapshots. */
export async function removeVolume(volumePath: string): Promise<void> {
  const st = await lstat(volumePath).catch(() => undefined);
  if (st?.isSymbolicLink() === true) {
    const active = await realpath(volumePath).catch(() => undefined);
    if (active !== undefined && (await childrenOf(active)).length === 0) await dropLayer(active);
  }
  await rm(volumePath, { force: true });
  await rmdir(layerDirOf(volumePath)).catch(() => undefined);
}

/**
 * Marks a frozen layer nobody holds any more (a released backup boundary at the bottom of its
 * chain) that its children still read: merging it up would copy the whole disk for nothing, so it
 * stays where it is and goes with its last child (`dropLayer`).
 */
export async function markUnowned(layer: string): Promise<void> {
  await writeFile(`${layer}${UNOWNED_SUFFIX}`, '', { mode: 0o600 });
}
const UNOWNED_SUFFIX = '.unowned';

/**
 * Removes a layer nothing is built on, then each layer under it that is unowned and has no child
 * left, so a chain left by released backups does not outlive its last user.
 */
export async function dropLayer(layer: string): Promise<void> {
  let next = await backingOf(layer).catch(() => undefined);
  await rm(layer, { force: true });
  await rmdir(dirname(layer)).catch(() => undefined);
  while (next !== undefined) {
    const unowned = await access(`${next}${UNOWNED_SUFFIX}`).then(
      () => true,
      () => false,
    );
    if (!unowned || (await childrenOf(next)).length > 0) return;
    const parent = await backingOf(next).catch(() => undefined);
    await rm(next, { force: true });
    await rm(`${next}${UNOWNED_SUFFIX}`, { force: true });
    await rmdir(dirname(next)).catch(() => undefined);
    next = parent;
  }
}

/** Bytes a file takes on disk (holes not counted). */
export async function allocatedBytes(file: string): Promise<number> {
  const st = await lstat(file);
  return st.blocks * 512;
}

export const layerName = (layer: string): string => basename(layer, '.qcow2');
