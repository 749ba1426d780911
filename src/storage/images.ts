/**
 * The local image store: where a `containerDisk.image` reference is looked up on this node. Images
 * are directories holding an `image.json` (name, aliases, disk, kernel, initrd, cmdline) — the
 * built-in ones made by setup under `.cache/images`, those imported into the data dir, and those
 * pulled from registries (containerdisk.ts keeps them there too, with their source and digest).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImageManifest {
  name: string;
  aliases?: string[];
  disk: string | null;
  format: 'qcow2' | 'raw';
  kernel?: string | null;
  initrd?: string | null;
  cmdline?: string;
  minMemory?: string;
  readyMarker?: string;
  /** Pulled images: the registry reference and the manifest digest they came from. */
  source?: string;
  digest?: string;
}

export interface LocalImage {
  name: string;
  dir: string;
  /** Absolute paths. */
  disk?: string;
  format: 'qcow2' | 'raw';
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  readyMarker?: string;
  /** Name and aliases, normalized (`name:tag`). */
  names: string[];
  source?: string;
  digest?: string;
}

export class ImageNotFound extends Error {
  constructor(readonly reference: string) {
    super(
      `image ${JSON.stringify(reference)} is not in the local image store; import one under that name with ` +
        `\`hikube image import ${reference} FILE.qcow2\` (or \`--from hikube/tiny\` to alias a built-in image)`,
    );
  }
}

/** `.cache/images` of this checkout, or HIKUBE_IMAGE_DIR. */
export function builtinImageDir(): string {
  const env = process.env['HIKUBE_IMAGE_DIR'];
  if (env !== undefined && env !== '') return env;
  return resolve(fileURLToPath(new URL('../../../', import.meta.url)), '.cache', 'images');
}

/** `docker://reg/name:tag`, `name` → a comparable form with an explicit tag. */
export function normalizeReference(ref: string): string {
  let r = ref.trim().replace(/^(docker|oci):\/\//, '');
  if (r.startsWith('docker.io/library/')) r = r.slice('docker.io/library/'.length);
  const lastSlash = r.lastIndexOf('/');
  const hasTag = r.slice(lastSlash + 1).includes(':') || r.includes('@');
  return hasTag ? r : `${r}:latest`;
}

export class ImageStore {
  constructor(private readonly dirs: readonly string[]) {}

  list(): LocalImage[] {
    const out: LocalImage[] = [];
    for (const root of this.dirs) {
      if (!existsSync(root)) continue;
      for (const entry of readdirSync(root, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
        const dir = join(root, entry.name);
        const manifestPath = join(dir, 'image.json');
        if (!existsSync(manifestPath)) continue;
        try {
          out.push(toLocal(dir, JSON.parse(readFileSync(manifestPath, 'utf8')) as ImageManifest));
        } catch {
          // A half-written or foreign directory is not an image.
        }
      }
    }
    return out;
  }

  /** The first image, in directory order, named or aliased `reference`; each image.json is read once. */
  resolve(reference: string): LocalImage {
    const found = this.find(reference);
    if (found === undefined) throw new ImageNotFound(reference);
    return found;
  }

  find(reference: string): LocalImage | undefined {
    return findImage(this.list(), reference);
  }
}

/** The first of `images` named or aliased `reference`. */
export function findImage(images: readonly LocalImage[], reference: string): LocalImage | undefined {
  const want = normalizeReference(reference);
  return images.find((image) => image.names.includes(want));
}

function toLocal(dir: string, m: ImageManifest): LocalImage {
  const abs = (p: string | null | undefined): string | undefined =>
    p === null || p === undefined || p === '' ? undefined : resolve(dir, p);
  const image: LocalImage = {
    name: m.name,
    dir,
    format: m.format,
    names: [m.name, ...(m.aliases ?? [])].map(normalizeReference),
  };
  const disk = abs(m.disk);
  const kernel = abs(m.kernel);
  const initrd = abs(m.initrd);
  if (disk !== undefined) image.disk = disk;
  if (kernel !== undefined) image.kernel = kernel;
  if (initrd !== undefined) image.initrd = initrd;
  if (m.cmdline !== undefined) image.cmdline = m.cmdline;
  if (m.readyMarker !== undefined) image.readyMarker = m.readyMarker;
  if (m.source !== undefined) image.source = m.source;
  if (m.digest !== undefined) image.digest = m.digest;
  return image;
}
