/**
 * Imports into the local image store through the API, so `hikube image import` works from any
 * machine that has a kubeconfig: `PUT …/images/NAME/upload` streams a qcow2 or raw disk image,
 * `PUT …/images/NAME/alias` names an existing image anew (e.g. the tiny image as `ubuntu:20.04`).
 * A stopgap until CDI's DataVolume importers and upload proxy arrive with the images work.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../apiserver/errors.js';
import type { Subresource } from '../apiserver/subresources.js';
import type { DiskTool } from '../node/ports.js';
import { normalizeReference, type ImageManifest, type ImageStore } from './images.js';

const REFERENCE = /^[a-z0-9]+([._/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?$/;

const slug = (ref: string): string => normalizeReference(ref).replace(/[/:@]/g, '-');

function checkName(name: string): void {
  if (!REFERENCE.test(name)) {
    throw new ApiError('Invalid', `image name ${JSON.stringify(name)} is not a valid image reference`, {
      causes: [
        {
          path: 'metadata.name',
          message: `Invalid value: ${JSON.stringify(name)}: use lower-case letters, digits, '.', '-', '_', '/' and an optional :tag`,
        },
      ],
    });
  }
}

export function imageImportSubresources(dataDir: string, store: ImageStore, disks: DiskTool): Subresource[] {
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
        try {
          await pipeline(req, createWriteStream(partial));
          const { format } = await disks.info(partial);
          if (format !== 'qcow2' && format !== 'raw') {
            throw new ApiError(
              'Invalid',
              `unsupported image format ${JSON.stringify(format)}: upload qcow2 or raw (convert with qemu-img convert -O qcow2)`,
            );
          }
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
          await rename(partial, join(dir, `disk.${format}`));
          const manifest: ImageManifest = {
            name: normalizeReference(r.name),
            aliases: [r.name],
            disk: `disk.${format}`,
            format,
          };
          await writeFile(join(dir, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
          return { name: r.name, format, path: dir };
        } finally {
          await rm(partial, { force: true });
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
