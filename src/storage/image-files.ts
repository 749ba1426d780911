/**
 * Files taken out of a local image (`firmware.kernelBoot.container.kernelPath`/`initrdPath`): the
 * path is resolved under the image's directory with every symlink followed, and refused when the
 * real file is not inside that directory. Admission refuses `..` and relative paths already
 * (src/api/kubevirt/kernel-boot.ts); a symlink inside the image is only seen here, at start.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { imagePathProblem } from '../api/kubevirt/kernel-boot.js';

export class ImageFileError extends Error {}

/**
 * The real path of `path` inside the image at `dir`: at that path, else (built-in images keep
 * their files flat) by its name at the top of the image.
 */
export function fileInImage(dir: string, path: string, what: string): string {
  const problem = imagePathProblem(path);
  if (problem !== undefined) throw new ImageFileError(`${what} ${JSON.stringify(path)} ${problem}`);
  const root = realpathSync(dir);
  for (const candidate of [join(dir, path), join(dir, basename(path))]) {
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (!real.startsWith(root + sep))
      throw new ImageFileError(`${what} ${JSON.stringify(path)} leaves the image (it resolves to ${real})`);
    if (!statSync(real).isFile()) throw new ImageFileError(`${what} ${JSON.stringify(path)} is not a file`);
    return real;
  }
  throw new ImageFileError(`the image has no file ${path}`);
}
