/**
 * Picks the patch algorithm from the request's content type, and refuses patch bodies of a shape
 * the algorithm cannot take (or more JSON patch operations than kube-apiserver allows).
 */
import type { TSchema } from '../../api/schema.js';
import { MAX_JSON_PATCH_OPERATIONS } from '../body-limits.js';
import { ApiError } from '../errors.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export const isPatchType = (contentType: string): contentType is PatchType =>
  (PATCH_TYPES as readonly string[]).includes(contentType);

export function applyPatch(type: PatchType, target: unknown, patch: unknown, schema: TSchema): unknown {
  switch (type) {
    case 'application/json-patch+json':
      if (!Array.isArray(patch))
        throw new ApiError('BadRequest', 'a JSON patch must be an array of operations');
      if (patch.length > MAX_JSON_PATCH_OPERATIONS)
        throw new ApiError(
          'RequestEntityTooLarge',
          `the allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, but found ${patch.length}`,
        );
      return applyJsonPatch(target, patch);
    case 'application/merge-patch+json':
      return applyMergePatch(target, patch);
    case 'application/strategic-merge-patch+json':
      return applyStrategicMergePatch(target, patch, schema);
    case 'application/apply-patch+yaml': {
      requireObject(patch, 'an applied configuration');
      // Server-side apply without field ownership: the applied configuration is merged over the
      // live object (fields it no longer lists are kept; managedFields are not tracked).
      const { managedFields: _m, ...meta } = (patch as { metadata?: Record<string, unknown> }).metadata ?? {};
      return applyMergePatch(target, { ...(patch as object), metadata: meta });
    }
  }
}

function requireObject(patch: unknown, what: string): void {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new ApiError('BadRequest', `${what} must be an object`);
}
