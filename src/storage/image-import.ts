/**
 * Imports into the local image store through the API, so `hikube image import` works from any
 * machine that has a kubeconfig: `PUT …/images/NAME/upload` streams a disk image (optionally gzip
 * or xz compressed) that passes the inspection rule (inspect.ts); qcow2 and raw are kept, other
 * formats are converted to qcow2; `PUT …/images/NAME/alias` names an existing image anew (e.g. the tiny image as `ubuntu:20.04`).
 * A stopgap until CDI's DataVolume importers and upload proxy arrive with the images work.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseImageReference } from '../api/image-reference.js';
import { ApiError } from '../apiserver/errors.js';
import type { Subresource } from '../apiserver/subresources.js';
import { asImportError } from './import/errors.js';
import { intoImageStore } from './import/format.js';
import { normalizeReference, type ImageManifest, type ImageStore } from './images.js';
import type { ImageTool } from './ports.js';

const slug = (ref: string): string => normalizeReference(ref).replace(/[/:@]/g, '-');

/** Any reference a containerDisk may name is a name an image can be imported as (host:port, digests too). */
function checkName(name: string): void {
  const parsed = parseImageReference(name);
  if (typeof parsed === 'string') {
    throw new ApiError('Invalid', `image name ${JSON.stringify(name)} is not a valid image reference`, {
      causes: [{ path: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${parsed}` }],
    });
  }
}

export function imageImportSubresources(
  dataDir: string,
  store: ImageStore,
  images: ImageTool,
): Subresource[] {
  const root = join(dataDir, 'images');
  const base = {
    group: 'images.hikube.io',
    version: 'v1alpha1',
    resource: 'images',
    clusterScoped: true,
  } as const;
  return [
    {
      ...base,
      name: 'upload',
      streamBody: true,
      async handle(r, { req }) {
        checkName(r.name);
        const dir = join(root, slug(r.name));
        const partial = join(root, `.${slug(r.name)}.${process.pid}.${Date.now()}.part`);
        await mkdir(root, { recursive: true });
        await mkdir(partial, { recursive: true });
        try {
          await pipeline(req, createWriteStream(join(partial, 'received.part')));
          let disk;
          try {
            disk = await intoImageStore(images, join(partial, 'received.part'), partial);
          } catch (err) {
            const e = asImportError(err, `importing image ${r.name}`);
            throw new ApiError(
              e.permanent ? 'BadRequest' : 'InternalError',
              `image ${r.name} was not imported: ${e.message}`,
            );
          }
          await rm(join(partial, 'received.part'), { force: true });
          const manifest: ImageManifest = {
            name: normalizeReference(r.name),
            aliases: [r.name],
            disk: disk.file,
            format: disk.format,
          };
          await writeFile(join(partial, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
          await rm(dir, { recursive: true, force: true });
          await rename(partial, dir);
          return { name: r.name, format: disk.format, path: dir };
        } finally {
          await rm(partial, { recursive: true, force: true });
        }
      },
    },
    {
      ...base,
      name: 'alias',
      async handle(r) {
        checkName(r.name);
        const from = r.body['from'];
        if (typeof from !== 'string' || from === '') {
          throw new ApiError('Invalid', 'alias needs {"from": "IMAGE"}', {
            causes: [{ path: 'from', reason: 'FieldValueRequired', message: 'Required value' }],
          });
        }
        let source;
        try {
          source = store.resolve(from);
        } catch (err) {
          throw new ApiError('NotFound', err instanceof Error ? err.message : String(err));
        }
        const dir = join(root, slug(r.name));
        if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        const manifest: ImageManifest = {
          name: normalizeReference(r.name),
          aliases: [r.name],
          disk: source.disk ?? null,
          format: source.format,
          kernel: source.kernel ?? null,
          initrd: source.initrd ?? null,
          ...(source.cmdline !== undefined ? { cmdline: source.cmdline } : {}),
          ...(source.readyMarker !== undefined ? { readyMarker: source.readyMarker } : {}),
        };
        await writeFile(join(dir, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
        return { name: r.name, from: source.name, path: dir };
      },
    },
  ];
}
