/**
 * The console's only way to the platform: HTTPS requests to the Kubernetes API with the session's
 * bearer token. Failures arrive as Kubernetes `Status` objects and are thrown as ApiStatusError, whose
 * causes carry the field paths the forms show next to their fields. A request the network cuts off
 * before its answer is sent again (resend.ts).
 */
import { getToken, signOut } from '../auth/session';
import { LOST_ATTEMPT_NOTE, resendDelayMs, SENDS, settleAfterLoss } from './resend';
import type { Status, StatusCause } from './types';

export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[] = [],
  ) {
    super(message);
  }

  static fromStatus(code: number, status: Partial<Status> | undefined, fallback: string): ApiStatusError {
    return new ApiStatusError(
      status?.code ?? code,
      status?.reason ?? 'Unknown',
      status?.message ?? fallback,
      status?.details?.causes ?? [],
    );
  }
}

export function authHeaders(token = getToken()): Record<string, string> {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  contentType?: string;
  signal?: AbortSignal;
}

export function withQuery(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
  const q = params.toString();
  return q === '' ? path : `${path}?${q}`;
}

/** Turns a failed response into an ApiStatusError; a 401 also ends the session. */
export async function failure(res: Response, what: string): Promise<ApiStatusError> {
  return failureOf(res.status, await res.text().catch(() => ''), what);
}

function failureOf(code: number, text: string, what: string): ApiStatusError {
  let status: Partial<Status> | undefined;
  try {
    status = JSON.parse(text) as Partial<Status>;
  } catch {
    status = undefined;
  }
  const err = ApiStatusError.fromStatus(code, status, `${what} failed: HTTP ${code}`);
  if (code === 401) signOut('The API server no longer accepts this token. Sign in again.');
  return err;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = options.contentType ?? 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const url = withQuery(path, options.query);
  const init: RequestInit = {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  const res = await send(url, init, options.signal);
  if (!res.ok) {
    const err = failureOf(res.status, res.text, `${method} ${path}`);
    if (!res.lostAttempt) throw err;
    // An earlier attempt may have been applied: the answer to this one may only say so (resend.ts).
    const outcome = await settleAfterLoss(
      { method, path: url, body: options.body },
      err.code,
      err.reason,
      (p) => request<unknown>('GET', p),
    );
    if (outcome.settled) return outcome.value as T;
    // Only a conflict can be the first attempt's doing; a refusal (422, 403…) stands as it is.
    if (err.code !== 409) throw err;
    throw new ApiStatusError(err.code, err.reason, `${err.message}${LOST_ATTEMPT_NOTE}`, err.causes);
  }
  if (res.status === 202 || res.status === 204) return undefined as T;
  return (res.text === '' ? undefined : JSON.parse(res.text)) as T;
}

/**
 * Fetches and reads the whole answer, sending again when the network cuts the request off before
 * the answer is read (Chromium fails every HTTP/2 request in flight, its body included, when the
 * host's addresses change). Says whether an attempt was lost.
 */
async function send(
  url: string,
  init: RequestInit,
  signal: AbortSignal | undefined,
): Promise<{ ok: boolean; status: number; text: string; lostAttempt: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      return { ok: response.ok, status: response.status, text, lostAttempt: attempt > 1 };
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      if (attempt >= SENDS || signal?.aborted === true)
        throw new ApiStatusError(0, 'ServiceUnavailable', `cannot reach the API server: ${String(err)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, resendDelayMs(attempt)));
  }
}

export const api = {
  get: <T>(path: string, query?: Record<string, string | undefined>) =>
    request<T>('GET', path, query === undefined ? {} : { query }),
  create: <T>(path: string, body: unknown, query?: Record<string, string | undefined>) =>
    request<T>('POST', path, { body, ...(query === undefined ? {} : { query }) }),
  replace: <T>(path: string, body: unknown, query?: Record<string, string | undefined>) =>
    request<T>('PUT', path, { body, ...(query === undefined ? {} : { query }) }),
  mergePatch: <T>(path: string, body: unknown) =>
    request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' }),
  delete: <T>(path: string, body?: unknown) => request<T>('DELETE', path, body === undefined ? {} : { body }),
  /** KubeVirt's action subresources answer PUT with 202 and no body. */
  put: (path: string, body: unknown = {}) => request<void>('PUT', path, { body }),
};

/** "field: message" for a cause, as kubectl prints them. */
export const causeText = (c: StatusCause): string =>
  c.field !== undefined && c.field !== '' ? `${c.field}: ${c.message}` : c.message;

export const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
