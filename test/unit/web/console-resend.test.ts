/**
 * What a second answer means when the network cut off the first attempt of a console write
 * (web/src/api/resend.ts): a duplicate that holds what was sent is the first attempt's success;
 * anything else stands.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { covers, readBackPath, settleAfterLoss, type SentRequest } from '../../../web/src/api/resend.js';

const NADS = '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions';
const nad = (config: string, rv = '7') => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'lab', namespace: 'default', resourceVersion: rv, labels: { a: 'b' } },
  spec: { config },
});
const stored = {
  ...nad('{"type":"bridge"}', '12'),
  metadata: {
    ...nad('').metadata,
    resourceVersion: '12',
    uid: 'u-1',
    creationTimestamp: 'now',
    generation: 2,
  },
};

describe('covers', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 1, 1, true],
    ['different scalars', 1, 2, false],
    ['server-owned metadata is not compared', stored, nad('{"type":"bridge"}', '3'), true],
    ['a value that differs', stored, nad('{"type":"macvlan"}'), false],
    ['a key the server lacks', { spec: {} }, { spec: { x: 1 } }, false],
    ['extra server fields are fine', { spec: { x: 1, y: 2 } }, { spec: { x: 1 } }, true],
    ['arrays element by element', { a: [{ x: 1, d: 0 }] }, { a: [{ x: 1 }] }, true],
    ['arrays of another length', { a: [1, 2] }, { a: [1] }, false],
    [
      'resourceVersion outside metadata is compared',
      { spec: { resourceVersion: '1' } },
      { spec: { resourceVersion: '2' } },
      false,
    ],
  ];
  for (const [name, actual, wanted, expected] of cases)
    test(name, () => assert.equal(covers(actual, wanted), expected));
});

describe('settleAfterLoss', () => {
  const read = (value: unknown) => () => Promise.resolve(value);
  const post: SentRequest = {
    method: 'POST',
    path: `${NADS}?fieldValidation=Strict`,
    body: nad('{"type":"bridge"}'),
  };

  test('a create answered AlreadyExists, holding what was sent, is the first attempt succeeding', async () => {
    const paths: string[] = [];
    const out = await settleAfterLoss(post, 409, 'AlreadyExists', (p) => {
      paths.push(p);
      return Promise.resolve(stored);
    });
    assert.deepEqual(out, { settled: true, value: stored });
    assert.deepEqual(paths, [`${NADS}/lab`]);
  });
  test("an object of the same name that differs is someone else's: the error stands", async () => {
    const other = { ...stored, spec: { config: '{"type":"macvlan"}' } };
    assert.equal((await settleAfterLoss(post, 409, 'AlreadyExists', read(other))).settled, false);
  });
  test('a replace answered Conflict settles only when the object holds the edit (status aside)', async () => {
    const put: SentRequest = {
      method: 'PUT',
      path: `${NADS}/lab`,
      body: { ...nad('{"type":"bridge"}'), status: { x: 1 } },
    };
    assert.equal((await settleAfterLoss(put, 409, 'Conflict', read(stored))).settled, true);
    const moved = { ...stored, spec: { config: '{}' } };
    assert.equal((await settleAfterLoss(put, 409, 'Conflict', read(moved))).settled, false);
  });
  test('a delete answered 404: gone, as asked', async () => {
    const out = await settleAfterLoss(
      { method: 'DELETE', path: `${NADS}/lab`, body: undefined },
      404,
      'NotFound',
      read(undefined),
    );
    assert.equal(out.settled, true);
  });
  test('a refusal is not read back, nor a create by generateName, nor an unreadable object', async () => {
    let reads = 0;
    const counting = () => {
      reads++;
      return Promise.resolve(stored);
    };
    assert.equal((await settleAfterLoss(post, 422, 'Invalid', counting)).settled, false);
    const generated = { method: 'POST', path: NADS, body: { metadata: { generateName: 'lab-' } } };
    assert.equal((await settleAfterLoss(generated, 409, 'AlreadyExists', counting)).settled, false);
    assert.equal(reads, 0);
    const failing = async () => Promise.reject(new Error('403'));
    assert.equal((await settleAfterLoss(post, 409, 'AlreadyExists', failing)).settled, false);
  });
  test('read-back paths: a create reads its named object, an action has none', () => {
    assert.equal(
      readBackPath({ method: 'POST', path: `${NADS}?dryRun=All`, body: { metadata: { name: 'a b' } } }),
      `${NADS}/a%20b`,
    );
    assert.equal(
      readBackPath({
        method: 'PUT',
        path: '/apis/subresources.kubevirt.io/v1/namespaces/d/virtualmachines/v/start',
        body: {},
      }),
      undefined,
    );
  });
});
