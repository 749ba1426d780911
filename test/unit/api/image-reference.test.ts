/**
 * Image references as every image-taking field reads them: registry hosts with ports, digests,
 * short names for the local store; and the registry client's reading of the same references.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatImageReference, parseImageReference } from '../../../src/api/image-reference.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import type { Subresource } from '../../../src/apiserver/subresources.js';
import { imageImportSubresources } from '../../../src/storage/image-import.js';
import { ImageStore } from '../../../src/storage/images.js';
import { parseReference } from '../../../src/storage/import/registry.js';
import type { ImageTool } from '../../../src/storage/ports.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseImageReference', () => {
  const accepted: [string, ReturnType<typeof parseImageReference>][] = [
    ['debian:12', { path: 'debian', tag: '12' }],
    ['hikube/tiny', { path: 'hikube/tiny' }],
    ['registry:5000/kubevirt/cirros:devel', { host: 'registry:5000', path: 'kubevirt/cirros', tag: 'devel' }],
    [
      'docker://registry:5000/kubevirt/cirros:devel',
      { host: 'registry:5000', path: 'kubevirt/cirros', tag: 'devel' },
    ],
    ['127.0.0.1:5000/disk@' + DIGEST, { host: '127.0.0.1:5000', path: 'disk', digest: DIGEST }],
    ['localhost/a/b:v1@' + DIGEST, { host: 'localhost', path: 'a/b', tag: 'v1', digest: DIGEST }],
    ['quay.io/containerdisks/fedora:40', { host: 'quay.io', path: 'containerdisks/fedora', tag: '40' }],
    ['[::1]:5000/disk:1', { host: '[::1]:5000', path: 'disk', tag: '1' }],
  ];
  for (const [text, want] of accepted)
    test(`${text} is a reference`, () => {
      const got = parseImageReference(text);
      assert.deepEqual(got, want);
      if (typeof got !== 'string') assert.equal(formatImageReference(got), text.replace(/^docker:\/\//, ''));
    });

  const refused: [string, RegExp][] = [
    ['', /empty/],
    ['Debian:12', /repository path/],
    ['registry:5000/disk:bad tag', /not a tag/],
    ['disk@sha256:xyz', /not a digest/],
    ['reg_istry:5000/disk', /registry host/],
    ['a//b', /repository path/],
  ];
  for (const [text, why] of refused)
    test(`${JSON.stringify(text)} is refused`, () => {
      const got = parseImageReference(text);
      if (typeof got !== 'string') assert.fail(`${JSON.stringify(text)} parsed as ${JSON.stringify(got)}`);
      assert.match(got, why);
    });
});

describe('parseReference (registry client)', () => {
  const table: [string, ReturnType<typeof parseReference>][] = [
    [
      'docker://registry:5000/kubevirt/cirros:devel',
      { registry: 'registry:5000', repository: 'kubevirt/cirros', reference: 'devel' },
    ],
    [
      `docker://127.0.0.1:5000/disk@${DIGEST}`,
      { registry: '127.0.0.1:5000', repository: 'disk', reference: DIGEST },
    ],
    // The digest decides; the tag in front of it is not part of the repository.
    [
      `docker://127.0.0.1:5000/disk:v1@${DIGEST}`,
      { registry: '127.0.0.1:5000', repository: 'disk', reference: DIGEST },
    ],
  ];
  for (const [url, want] of table)
    test(url, () => {
      assert.deepEqual(parseReference(url), want);
    });
});

describe('hikube image import: the name taken', () => {
  const alias = imageImportSubresources('/nonexistent-hikube-test', new ImageStore([]), {} as ImageTool).find(
    (s) => s.name === 'alias',
  );
  const call = (name: string) =>
    alias?.handle?.(
      { namespace: '', name, args: [], query: new URLSearchParams(), body: {} },
      {} as Parameters<NonNullable<Subresource['handle']>>[1],
    );
  const causes = async (name: string): Promise<string[]> => {
    try {
      await call(name);
      return [];
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      return (err.details.causes ?? []).map((c) => c.path ?? '');
    }
  };
  for (const name of ['registry:5000/kubevirt/cirros:devel', `127.0.0.1:5000/disk@${DIGEST}`, 'debian:12'])
    test(`${name} passes the name check (only the missing "from" is refused)`, async () => {
      assert.deepEqual(await causes(name), ['from']);
    });
  test('a name that is no reference is refused on metadata.name', async () => {
    assert.deepEqual(await causes('Not A Name'), ['metadata.name']);
  });
});
