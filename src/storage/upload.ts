/**
 * The upload endpoint, in the role of CDI's upload proxy: `PUT|POST
 * /apis/upload.cdi.kubevirt.io/v1beta1/namespaces/NS/datavolumes/NAME/upload` streams the request
 * body (a disk image, optionally gzip or xz compressed) into the volume of a DataVolume whose
 * source is `upload: {}` and whose phase is UploadReady. Authenticated like every API call; the
 * answer comes once the image is checked and converted.
 */
import type { Readable } from 'node:stream';
import type { Subresource } from '../apiserver/subresources.js';
import type { PopulateResult } from './import/populate.js';

export const UPLOAD_GROUP = 'upload.cdi.kubevirt.io';
export const UPLOAD_VERSION = 'v1beta1';

export const uploadPath = (namespace: string, name: string): string =>
  `/apis/${UPLOAD_GROUP}/${UPLOAD_VERSION}/namespaces/${encodeURIComponent(namespace)}/datavolumes/${encodeURIComponent(name)}/upload`;

/** Who fills the DataVolume (the DataVolume controller). */
export interface UploadTarget {
  upload(
    namespace: string,
    name: string,
    body: Readable,
    length: number | undefined,
  ): Promise<PopulateResult>;
}

export function uploadSubresources(target: UploadTarget): Subresource[] {
  return [
    {
      group: UPLOAD_GROUP,
      version: UPLOAD_VERSION,
      resource: 'datavolumes',
      name: 'upload',
      verbs: ['PUT', 'POST'],
      streamBody: true,
      async handle(r, { req }) {
        const length = Number(req.headers['content-length']);
        const result = await target.upload(
          r.namespace,
          r.name,
          req,
          Number.isFinite(length) ? length : undefined,
        );
        return {
          kind: 'UploadResult',
          apiVersion: `${UPLOAD_GROUP}/${UPLOAD_VERSION}`,
          dataVolume: r.name,
          received: result.received,
          sourceFormat: result.sourceFormat,
          compression: result.compression,
          virtualSize: result.virtualSize,
        };
      },
    },
  ];
}
