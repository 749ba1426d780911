/**
 * Issue 12, item 3: `firmware.kernelBoot.container` kernelPath/initrdPath stay inside the image.
 * Admission refuses paths that are not plain absolute paths (one cause per field); at start, a
 * path is resolved under the image's real directory and refused when a symlink leads out of it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { imagePathProblem } from '../../../src/api/kubevirt/kernel-boot.js';
import { validateVm, type VirtualMachine } from '../../../src/api/kubevirt/vm.js';
import { fileInImage, ImageFileError } from '../../../src/storage/image-files.js';

const vmWith = (container: Record<string, string>): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'kb', namespace: 'default' },
  spec: {
    runStrategy: 'Always',
    template: {
      spec: {
        domain: {
          devices: { disks: [{ name: 'root', disk: {} }] },
          firmware: { kernelBoot: { container: { image: 'hikube/tiny', ...container } } },
          resources: { requests: { memory: '128Mi' } },
        },
        volumes: [{ name: 'root', containerDisk: { image: 'hikube/tiny' } }],
      },
    },
  },
});

const FIELD = 'spec.template.spec.domain.firmware.kernelBoot.container';

describe('kernelBoot paths at admission', () => {
  test('plain absolute paths pass', () => {
    for (const path of ['/vmlinux', '/boot/vmlinuz-6.1.0-amd64', '/boot/initrd.img'])
      assert.equal(imagePathProblem(path), undefined, path);
    assert.deepEqual(validateVm(vmWith({ kernelPath: '/boot/vmlinuz', initrdPath: '/boot/initrd.img' })), []);
  });

  test('a container with neither kernelPath nor initrdPath is refused, as KubeVirt refuses it', () => {
    for (const paths of [{}, { kernelPath: '', initrdPath: '' }])
      assert.deepEqual(
        validateVm(vmWith(paths)).map((e) => `${e.path} ${e.message}`),
        [`${FIELD} ${FIELD} must be defined with at least one of the following: kernelPath, initrdPath`],
      );
    assert.deepEqual(validateVm(vmWith({ initrdPath: '/boot/initrd.img' })), []);
  });

  test('relative, dotted and empty components are refused, one cause per field', () => {
    for (const path of [
      '../etc/shadow',
      'boot/vmlinuz',
      '/../../etc/shadow',
      '/boot/../../x',
      '/boot/./x',
      '//etc/shadow',
      '/boot/',
      '',
      '/a\0b',
    ])
      assert.notEqual(imagePathProblem(path), undefined, JSON.stringify(path));
    const errors = validateVm(vmWith({ kernelPath: '/../../etc/shadow', initrdPath: 'initrd.img' }));
    assert.deepEqual(
      errors.map((e) => e.path),
      [`${FIELD}.kernelPath`, `${FIELD}.initrdPath`],
    );
    assert.match(
      errors[0]?.message ?? '',
      /^Invalid value: "\/\.\.\/\.\.\/etc\/shadow": must be an absolute path to a file without relative components/,
    );
    assert.match(errors[1]?.message ?? '', /must be an absolute path inside the image/);
  });
});

describe('kernelBoot paths at start', () => {
  const base = mkdtempSync(join(tmpdir(), 'hikube-kb-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const outside = join(base, 'host-secret');
  writeFileSync(outside, 'secret');
  const image = join(base, 'image');
  mkdirSync(join(image, 'boot'), { recursive: true });
  mkdirSync(join(base, 'elsewhere'));
  writeFileSync(join(image, 'boot', 'vmlinuz'), 'kernel');
  writeFileSync(join(image, 'initrd.img'), 'initrd');
  symlinkSync('vmlinuz', join(image, 'boot', 'vmlinuz-link'));
  symlinkSync(outside, join(image, 'boot', 'absolute-escape'));
  symlinkSync('../../host-secret', join(image, 'boot', 'relative-escape'));
  symlinkSync(join(base, 'elsewhere'), join(image, 'linked-dir'));
  writeFileSync(join(base, 'elsewhere', 'vmlinuz'), 'not the image');
  // The image directory itself reached through a symlink is still the image.
  symlinkSync(image, join(base, 'image-link'));

  test('files inside the image resolve, through symlinks that stay inside and the flat fallback', () => {
    assert.equal(fileInImage(image, '/boot/vmlinuz', 'kernelPath'), join(image, 'boot', 'vmlinuz'));
    assert.equal(fileInImage(image, '/boot/vmlinuz-link', 'kernelPath'), join(image, 'boot', 'vmlinuz'));
    assert.equal(fileInImage(image, '/boot/initrd.img', 'initrdPath'), join(image, 'initrd.img'));
    assert.equal(
      fileInImage(join(base, 'image-link'), '/boot/vmlinuz', 'kernelPath'),
      join(image, 'boot', 'vmlinuz'),
    );
  });

  test('symlinks leaving the image, dotted paths and directories are refused', () => {
    const cases: [string, RegExp][] = [
      [
        '/boot/absolute-escape',
        /kernelPath "\/boot\/absolute-escape" leaves the image \(it resolves to .*host-secret\)/,
      ],
      ['/boot/relative-escape', /leaves the image/],
      ['/linked-dir/vmlinuz', /leaves the image/],
      ['/../host-secret', /without relative components/],
      ['/boot', /is not a file/],
      ['/boot/missing', /the image has no file \/boot\/missing/],
    ];
    for (const [path, why] of cases)
      assert.throws(
        () => fileInImage(image, path, 'kernelPath'),
        (err: unknown) => err instanceof ImageFileError && why.test(err.message),
        path,
      );
  });
});
