/**
 * API errors. Domain code throws ApiError (or a StoreError, SelectorError, PatchError that
 * `toApiError` translates); `statusFor` in this file is the one place an error becomes a Kubernetes
 * `Status` with an HTTP code.
 */
import type { FieldError } from '../api/kind.js';
import type { Status, StatusCause } from '../api/meta.js';
import { StoreError } from '../store/store.js';

export type Reason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

const codes: Record<Reason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: FieldError[];
}

export class ApiError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
  get code(): number {
    return codes[this.reason];
  }
}

/** `virtualmachines.kubevirt.io "dev-vm"` — how Kubernetes names an object in messages. */
export const qualifiedName = (plural: string, group: string, name: string): string =>
  `${group === '' ? plural : `${plural}.${group}`} "${name}"`;

export const notFound = (plural: string, group: string, name: string): ApiError =>
  new ApiError('NotFound', `${qualifiedName(plural, group, name)} not found`, { name, group, kind: plural });

export const invalid = (kind: string, group: string, name: string, causes: FieldError[]): ApiError => {
  const list = causes.map((c) => `${c.path}: ${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  const what = group === '' ? kind : `${kind}.${group}`;
  return new ApiError('Invalid', `${what} "${name}" is invalid: ${summary}`, { name, group, kind, causes });
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError)
    return new ApiError(err.code === 'Full' ? 'ServiceUnavailable' : err.code, err.message);
  // A malformed `%` escape that slipped past the path check is still the client's mistake.
  if (err instanceof URIError) return new ApiError('BadRequest', `malformed request: ${err.message}`);
  if (err instanceof Error && (err.name === 'SelectorError' || err.name === 'PatchError')) {
    return new ApiError(err.name === 'PatchError' ? 'Invalid' : 'BadRequest', err.message);
  }
  return new ApiError('InternalError', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

export function statusFor(err: ApiError): Status {
  const causes: StatusCause[] | undefined = err.details.causes?.map((c) => ({
    reason: c.reason ?? 'FieldValueInvalid',
    message: c.message,
    field: c.path,
  }));
  const details: NonNullable<Status['details']> = {};
  if (err.details.name !== undefined) details.name = err.details.name;
  if (err.details.group !== undefined) details.group = err.details.group;
  if (err.details.kind !== undefined) details.kind = err.details.kind;
  if (causes !== undefined) details.causes = causes;
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
}
