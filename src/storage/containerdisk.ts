/**
 * containerDisks from registries, for the node agent (the kubelet's image manager role): a
 * `containerDisk.image` is looked up in the local image store (built-in, imported, or pulled
 * before); a short name of the OS catalog (`ubuntu:22.04`) becomes its registry reference; a full
 * reference (`registry[:port]/repo:tag|@sha256:…`) is pulled once, in the background, with the
 * CDI registry importer's client (layers checked against their digests), into
 * `DATA_DIR/images/<ref>/` next to imported images: the disk read-only (every VM gets its own
 * copy-on-write overlay), the files under `/boot/` for `firmware.kernelBoot.container`, and an
 * image.json recording the source and manifest digest. A failed pull is reported as the kubelet
 * does: `ErrImagePull` with the reason, then `ImagePullBackOff` until the next try (10 s, doubling
 * up to 5 min).
 */
import { createWriteStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../api/quantity.js';
import { asImportError, ImportError } from './import/errors.js';
import { intoImageStore } from './import/format.js';
import type { OutboundPolicy } from '../network/outbound.js';
import { parseReference, RegistryClient } from './import/registry.js';
import { SparseFileWriter } from './import/sparse.js';
import { normalizeReference, type ImageManifest, type ImageStore, type LocalImage } from './images.js';
import { catalogReference } from './os-catalog.js';
import type { ImageTool } from './ports.js';

export type Acquired =
  | { state: 'ready'; image: LocalImage }
  | { state: 'pulling'; message: string; retryInMs: number }
  | { state: 'failed'; reason: 'ErrImagePull' | 'ImagePullBackOff'; message: string; retryInMs: number };

/** What the node agent asks: the image of a reference, for the VMI `uid`. */
export interface ImageSource {
  acquire(reference: string, uid: string): Acquired;
}

export interface ContainerDiskOptions {
  store: ImageStore;
  /** DATA_DIR/images. */
  dir: string;
  images: ImageTool;
  /** Registry host → the host to pull from instead (a mirror, e.g. a loopback registry). */
  mirrors?: Record<string, string>;
  /** Where pulls may connect (src/network/outbound.ts). */
  targets: OutboundPolicy;
  now?: () => number;
  log?: (message: string) => void;
}

const BACKOFF_MS = [10_000, 20_000, 40_000, 80_000, 160_000, 300_000];
/** How long a failure shows as ErrImagePull before ImagePullBackOff. */
const SHOW_ERROR_MS = 3000;

interface Pull {
  received: number;
  total: number;
}
interface Failure {
  message: string;
  failedAt: number;
  retryAt: number;
  failures: number;
  shown: Set<string>;
}

/** `host:port/repo:tag` or `repo@sha256:…` names a registry; `ubuntu` or `hikube/tiny` do not. */
const namesRegistry = (ref: string): boolean => {
  const first = ref.replace(/^docker:\/\//, '').split('/')[0] ?? '';
  return ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
};

/**
 * The mirror of a registry host: its own entry, else the catch-all `*` (e.g. an offline machine's),
 * which leaves registries on loopback alone.
 */
export function mirrorFor(mirrors: Record<string, string> | undefined, registry: string): string | undefined {
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
  return mirrors?.[registry] ?? (loopback ? undefined : mirrors?.['*']);
}

/** `quay.io=127.0.0.1:5000,*=…` → a mirror map. */
export function parseMirrors(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const [from = '', to = ''] = pair.split('=').map((x) => x.trim());
    if (from !== '' && to !== '') out[from] = to;
  }
  return out;
}

const slug = (ref: string): string => normalizeReference(ref).replace(/[/:@]/g, '-');

export class ContainerDisks implements ImageSource {
  private readonly pulls = new Map<string, Pull>();
  private readonly failures = new Map<string, Failure>();
  private readonly now: () => number;

  constructor(private readonly o: ContainerDiskOptions) {
    this.now = o.now ?? Date.now;
    // Pulls cut short by a crash or a kill leave their working directories: they are never resumed.
    if (existsSync(o.dir))
      for (const entry of readdirSync(o.dir))
        if (entry.startsWith('.pull-')) rmSync(join(o.dir, entry), { recursive: true, force: true });
  }

  /** The registry reference a containerDisk image names: itself, or the catalog's for a short name. */
  static target(reference: string): string | undefined {
    if (namesRegistry(reference)) return reference.replace(/^docker:\/\//, '');
    return catalogReference(reference)?.full;
  }

  acquire(reference: string, uid: string): Acquired {
    const local = this.o.store.find(reference);
    if (local !== undefined) return { state: 'ready', image: local };
    const full = ContainerDisks.target(reference);
    if (full === undefined)
      return {
        state: 'failed',
        reason: 'ErrImagePull',
        message:
          `image ${JSON.stringify(reference)} is not in the local image store and names no registry: ` +
          `give a full reference (registry/repository:tag), or import it with \`hikube image import ${reference} FILE\``,
        retryInMs: 5000,
      };
    const pulled = this.o.store.find(full);
    if (pulled !== undefined) return { state: 'ready', image: pulled };
    const key = normalizeReference(full);
    const now = this.now();
    const pull = this.pulls.get(key);
    if (pull !== undefined) return { state: 'pulling', message: progressOf(full, pull), retryInMs: 1000 };
    const failure = this.failures.get(key);
    if (failure !== undefined && now < failure.retryAt) {
      if (!failure.shown.has(uid) || now < failure.failedAt + SHOW_ERROR_MS) {
        failure.shown.add(uid);
        return {
          state: 'failed',
          reason: 'ErrImagePull',
          message: failure.message,
          retryInMs: Math.max(500, failure.failedAt + SHOW_ERROR_MS - now),
        };
      }
      return {
        state: 'failed',
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image ${JSON.stringify(full)}: ${failure.message}`,
        retryInMs: failure.retryAt - now,
      };
    }
    const started: Pull = { received: 0, total: 0 };
    this.pulls.set(key, started);
    const alias = full === reference ? [] : [reference];
    this.pull(full, alias, started).then(
      () => {
        this.failures.delete(key);
        this.pulls.delete(key);
      },
      (err: unknown) => {
        const failures = (this.failures.get(key)?.failures ?? 0) + 1;
        const at = this.now();
        const why = err instanceof Error ? err.message : String(err);
        const message =
          full === reference
            ? `failed to pull image ${JSON.stringify(full)}: ${why}`
            : `image ${JSON.stringify(reference)} is not in the local image store and pulling ${full} failed (${why}): ` +
              `import it with \`hikube image import ${reference} FILE\``;
        this.o.log?.(`containerDisk: ${message}`);
        this.failures.set(key, {
          message,
          failedAt: at,
          retryAt: at + (BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1] ?? 300_000),
          failures,
          shown: new Set(),
        });
        this.pulls.delete(key);
      },
    );
    return { state: 'pulling', message: progressOf(full, started), retryInMs: 500 };
  }

  /** Pulls `full` into the image store; the directory appears whole or not at all. */
  private async pull(full: string, aliases: string[], progress: Pull): Promise<void> {
    const mirror = mirrorFor(this.o.mirrors, parseReference(`docker://${full}`).registry);
    const tmp = join(this.o.dir, `.pull-${slug(full)}-${process.pid}-${this.now()}`);
    await mkdir(join(tmp, 'boot'), { recursive: true });
    try {
      const client = new RegistryClient(
        { url: `docker://${full}`, ...(mirror !== undefined ? { mirror } : {}) },
        this.o.targets,
      );
      let disk: string | undefined;
      const download = join(tmp, 'disk.download');
      const files = await client.pullFiles(
        join(tmp, 'layer.part'),
        (path) => {
          if (disk === undefined && /^disk\/[^/]+$/.test(path)) {
            disk = path;
            return new SparseFileWriter(download);
          }
          if (/^boot\/[^/]+$/.test(path)) return createWriteStream(join(tmp, path));
          return undefined;
        },
        (n, total) => {
          progress.received = n;
          progress.total = total;
        },
      );
      await rm(join(tmp, 'layer.part'), { force: true });
      if (disk === undefined && files.length === 0)
        throw new ImportError(
          'UnsupportedFormat',
          `${full} is not a containerDisk: no layer holds a disk image under /disk/ (or a kernel under /boot/)`,
          true,
        );
      const manifest: ImageManifest = {
        name: normalizeReference(full),
        aliases,
        disk: null,
        format: 'qcow2',
        source: full,
        ...(client.digest !== undefined ? { digest: client.digest } : {}),
      };
      if (disk !== undefined) {
        const { file, format } = await intoImageStore(this.o.images, download, tmp);
        await chmod(join(tmp, file), 0o444);
        manifest.disk = file;
        manifest.format = format;
      }
      await writeFile(join(tmp, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const dir = join(this.o.dir, slug(full));
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (err) {
      throw asImportError(err, 'pulling the image');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}

function progressOf(full: string, p: Pull): string {
  if (p.total <= 0) return `pulling image ${JSON.stringify(full)}`;
  const percent = ((100 * p.received) / p.total).toFixed(1);
  return `pulling image ${JSON.stringify(full)}: ${percent}% (${formatBytes(p.received)} of ${formatBytes(p.total)})`;
}
