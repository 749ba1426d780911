/**
 * upload.cdi.kubevirt.io/v1beta1 UploadTokenRequest: how CDI's clients (virtctl image-upload, the
 * console of other platforms) get permission to upload into one PVC. Created like any object; the
 * answer carries `status.token`, which the upload proxy (src/storage/upload-proxy.ts, at CDIConfig's
 * `status.uploadProxyURL`) takes as `Authorization: Bearer TOKEN` for the DataVolume of that PVC,
 * for TOKEN_LIFETIME_MS after the request was made.
 */
import { randomBytes } from 'node:crypto';
import type { FieldError, KindDefinition } from '../kind.js';
import { ObjectMeta } from '../meta.js';
import { Obj, Type, type Static, opt } from '../schema.js';

export const UPLOAD_GROUP = 'upload.cdi.kubevirt.io';
export const UPLOAD_VERSION = 'v1beta1';
/** As CDI's: a token is good for five minutes. */
export const TOKEN_LIFETIME_MS = 5 * 60_000;

export const UploadTokenRequest = Obj('A request for an upload token.', {
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: ObjectMeta,
  spec: Obj('What the token is for.', {
    pvcName: Type.String({ description: 'The PVC (and DataVolume) the upload goes into.' }),
  }),
  status: opt(
    Obj('The token, filled in by the server.', {
      token: opt(Type.String({ description: 'Send as `Authorization: Bearer TOKEN` to the upload proxy.' })),
    }),
  ),
});
export type UploadTokenRequest = Static<typeof UploadTokenRequest>;

function validateTokenRequest(r: UploadTokenRequest): FieldError[] {
  if (r.spec.pvcName !== '') return [];
  return [{ path: 'spec.pvcName', reason: 'FieldValueRequired', message: 'Required value' }];
}

export const uploadTokenRequestKind: KindDefinition = {
  group: UPLOAD_GROUP,
  version: UPLOAD_VERSION,
  kind: 'UploadTokenRequest',
  plural: 'uploadtokenrequests',
  singular: 'uploadtokenrequest',
  namespaced: true,
  description:
    'UploadTokenRequest asks for a token to upload a disk image into a PVC through the upload proxy.',
  schema: UploadTokenRequest,
  statusSubresource: false,
  printerColumns: [{ name: 'PVC', type: 'string', jsonPath: '.spec.pvcName' }],
  validate: (o) => validateTokenRequest(o as unknown as UploadTokenRequest),
  // The server makes the token; one a client sends is replaced, and an update keeps the one made.
  defaults: (o) => {
    const r = o as unknown as UploadTokenRequest & { metadata: { resourceVersion?: string } };
    const made = r.metadata.resourceVersion !== undefined && r.status?.token !== undefined;
    r.status = { token: made ? (r.status?.token ?? '') : randomBytes(32).toString('base64url') };
  },
};
