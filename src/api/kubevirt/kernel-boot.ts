/**
 * `spec.domain.firmware.kernelBoot` (KubeVirt's KernelBoot): a kernel and initrd taken from a
 * container image. `kernelPath` and `initrdPath` name files inside that image; the node agent
 * resolves them under the image's root and refuses what leaves it (src/node/image-files.ts). Here,
 * at admission, a path that is not a plain absolute path inside the image is refused with its field.
 */
import type { FieldError } from '../kind.js';
import { StringEnum, Type, opt, type Static, Obj } from '../schema.js';

export const KernelBootContainer = Obj('The container image holding the kernel and initrd.', {
  image: Type.String({ description: 'Image reference (a containerDisk image).' }),
  imagePullSecret: opt(Type.String({ description: 'Secret with the registry credentials.' })),
  imagePullPolicy: opt(StringEnum(['Always', 'Never', 'IfNotPresent'], 'When to pull the image.')),
  kernelPath: opt(
    Type.String({ description: 'Absolute path of the kernel inside the image, e.g. /boot/vmlinuz.' }),
  ),
  initrdPath: opt(
    Type.String({ description: 'Absolute path of the initrd inside the image, e.g. /boot/initrd.img.' }),
  ),
});

export const KernelBoot = Obj('Boot a kernel and initrd directly.', {
  kernelArgs: opt(Type.String({ description: 'Kernel command line.' })),
  container: opt(KernelBootContainer),
});
export type KernelBoot = Static<typeof KernelBoot>;

/** Why `path` cannot name a file inside an image, or undefined when it can. */
export function imagePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path inside the image';
  const parts = path.slice(1).split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '') || path.includes('\0'))
    return 'must be an absolute path to a file without relative components (no "..", ".", "//" or trailing "/")';
  return undefined;
}

export function validateKernelBoot(kernelBoot: KernelBoot | undefined, at: string): FieldError[] {
  const container = kernelBoot?.container;
  if (container === undefined) return [];
  const errors: FieldError[] = [];
  if ((container.kernelPath ?? '') === '' && (container.initrdPath ?? '') === '')
    errors.push({
      path: `${at}.container`,
      reason: 'FieldValueRequired',
      message: `${at}.container must be defined with at least one of the following: kernelPath, initrdPath`,
    });
  for (const field of ['kernelPath', 'initrdPath'] as const) {
    const path = container[field];
    if (path === undefined || path === '') continue;
    const problem = imagePathProblem(path);
    if (problem !== undefined)
      errors.push({
        path: `${at}.container.${field}`,
        message: `Invalid value: ${JSON.stringify(path)}: ${problem}`,
      });
  }
  return errors;
}
