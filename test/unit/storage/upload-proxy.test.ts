/**
 * Redeeming an upload token: the namespace and PVC of the UploadTokenRequest that issued it, for
 * five minutes; nothing for an unknown, empty, missing or expired token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UploadTokenRequest } from '../../../src/api/cdi/uploadtokenrequest.js';
import { redeem } from '../../../src/storage/upload-proxy.js';

const request = (namespace: string, pvcName: string, token: string, at: string): UploadTokenRequest => ({
  apiVersion: 'upload.cdi.kubevirt.io/v1beta1',
  kind: 'UploadTokenRequest',
  metadata: { name: `t-${pvcName}`, namespace, creationTimestamp: at },
  spec: { pvcName },
  status: { token },
});

describe('redeem', () => {
  const requests = [
    request('a', 'disk1', 'tok-one', '2026-01-01T00:00:00Z'),
    request('b', 'disk2', 'tok-two', '2026-01-01T00:04:00Z'),
    request('c', 'blank', '', '2026-01-01T00:04:00Z'),
  ];
  const at = (iso: string): Date => new Date(iso);
  const cases: [string, string | undefined, string, { namespace: string; pvcName: string } | undefined][] = [
    ['a fresh token', 'tok-one', '2026-01-01T00:01:00Z', { namespace: 'a', pvcName: 'disk1' }],
    ['another request', 'tok-two', '2026-01-01T00:06:00Z', { namespace: 'b', pvcName: 'disk2' }],
    ['five minutes and a second later', 'tok-one', '2026-01-01T00:05:01Z', undefined],
    ['an unknown token', 'tok-three', '2026-01-01T00:01:00Z', undefined],
    ['a prefix of a token', 'tok-on', '2026-01-01T00:01:00Z', undefined],
    ['no token', undefined, '2026-01-01T00:01:00Z', undefined],
    ['an empty token', '', '2026-01-01T00:04:30Z', undefined],
  ];
  for (const [what, token, now, expected] of cases)
    test(what, () => assert.deepEqual(redeem(requests, token, at(now)), expected));
});
