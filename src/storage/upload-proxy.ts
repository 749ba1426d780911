/**
 * CDI's upload proxy, as its clients call it: `POST|PUT {uploadProxyURL}/v1beta1/upload` (or
 * `/v1beta1/upload-async`, or a form's `file` field on `/v1beta1/upload-form[-async]`) with
 * `Authorization: Bearer TOKEN`, where TOKEN is the `status.token` of
 * an UploadTokenRequest made less than five minutes ago. The body goes into the DataVolume named by
 * the request's `pvcName`, through the same path as the API's upload subresource (src/storage/
 * upload.ts): every image is inspected (src/storage/inspect.ts) before it lands. The upload token
 * is the only credential these two paths take, so they are served before the API's authentication.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  TOKEN_LIFETIME_MS,
  uploadTokenRequestKind,
  type UploadTokenRequest,
} from '../api/cdi/uploadtokenrequest.js';
import { bearerToken } from '../apiserver/bearer.js';
import { ApiError } from '../apiserver/errors.js';
import { sendJson, type ApiRequest, type ApiResponse } from '../apiserver/http.js';
import type { ExtraRoute } from '../apiserver/server.js';
import { FormError, formFile } from './multipart.js';
import type { UploadTarget } from './upload.js';

export const UPLOAD_PROXY_PATHS = ['/v1beta1/upload', '/v1beta1/upload-async'] as const;
/** The same as a `multipart/form-data` POST whose field `file` is the image (src/storage/multipart.ts). */
export const UPLOAD_FORM_PATHS = ['/v1beta1/upload-form', '/v1beta1/upload-form-async'] as const;

/** Reads the UploadTokenRequests the server holds (the Registry, in process). */
export interface TokenRequests {
  list(): UploadTokenRequest[];
}

/** The namespace and PVC a token was issued for, if it is one and still good at `now`. */
export function redeem(
  requests: readonly UploadTokenRequest[],
  token: string | undefined,
  now: Date,
): { namespace: string; pvcName: string } | undefined {
  if (token === undefined) return undefined;
  const given = Buffer.from(token);
  let found: { namespace: string; pvcName: string } | undefined;
  for (const r of requests) {
    const issued = Buffer.from(r.status?.token ?? '');
    const same = issued.length === given.length && issued.length > 0 && timingSafeEqual(issued, given);
    const at = Date.parse(r.metadata.creationTimestamp ?? '');
    if (same && Number.isFinite(at) && now.getTime() - at <= TOKEN_LIFETIME_MS)
      found = { namespace: r.metadata.namespace ?? '', pvcName: r.spec.pvcName };
  }
  return found;
}

export function uploadProxyRoutes(
  requests: TokenRequests,
  target: UploadTarget,
  now: () => Date = () => new Date(),
): ExtraRoute[] {
  const handler =
    (form: boolean) =>
    async (req: ApiRequest, res: ApiResponse): Promise<void> => {
      if (req.method !== 'POST' && (form || req.method !== 'PUT'))
        throw new ApiError('MethodNotAllowed', `${req.method ?? ''} is not supported on the upload proxy`);
      const grant = redeem(requests.list(), bearerToken(req.headers.authorization), now());
      if (grant === undefined)
        throw new ApiError(
          'Unauthorized',
          'upload token missing, unknown or expired: create an UploadTokenRequest',
        );
      const length = Number(req.headers['content-length']);
      const result = form
        ? await target.upload(grant.namespace, grant.pvcName, await formFileOf(req), undefined)
        : await target.upload(
            grant.namespace,
            grant.pvcName,
            req,
            Number.isFinite(length) ? length : undefined,
          );
      sendJson(res, 200, {
        kind: 'UploadResult',
        apiVersion: `${uploadTokenRequestKind.group}/${uploadTokenRequestKind.version}`,
        dataVolume: grant.pvcName,
        received: result.received,
        sourceFormat: result.sourceFormat,
        compression: result.compression,
        virtualSize: result.virtualSize,
      });
    };
  return [
    ...UPLOAD_PROXY_PATHS.map((path) => ({ path, handle: handler(false) })),
    ...UPLOAD_FORM_PATHS.map((path) => ({ path, handle: handler(true) })),
  ];
}

async function formFileOf(req: ApiRequest): Promise<Readable> {
  try {
    return await formFile(req, req.headers['content-type']);
  } catch (err) {
    if (err instanceof FormError) throw new ApiError('BadRequest', `upload form: ${err.message}`);
    throw err;
  }
}
