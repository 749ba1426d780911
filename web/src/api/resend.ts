/**
 * Sending a request again after the network cut it off. Chromium on Linux closes every HTTP/2
 * connection when an address of the host changes (a VM's tap device appearing, a VPN coming up),
 * failing the requests in flight with ERR_NETWORK_CHANGED ("TypeError: Failed to fetch"), whether or
 * not the server already acted on them. The client sends such a request again; this module decides
 * what the second answer means when the first attempt may have been applied:
 * - a delete answered 404: the object is gone, as asked;
 * - a create answered 409 AlreadyExists, or a replace answered 409 Conflict: the object as it now is
 *   is read back, and if it holds everything that was sent, the write took effect the first time.
 * Anything else is the server's answer, with a note that an earlier attempt was cut off.
 */

/** How many times a request is sent in all when the network cuts it off. */
export const SENDS = 4;

/** The pause before sending again, growing with each attempt. */
export const resendDelayMs = (attempt: number): number => 150 * 2 ** (attempt - 1);

export interface LostAttemptOutcome {
  /** The write took effect: answer with this value instead of the error. */
  settled: boolean;
  value?: unknown;
}

export interface SentRequest {
  method: string;
  path: string;
  body: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields a server sets or moves on its own: they say nothing about whether our write landed. */
const SERVER_OWNED_METADATA = new Set([
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
]);

/**
 * Whether `actual` holds every value of `wanted` (objects: each of wanted's keys, recursively;
 * arrays: same length, element by element; scalars: equal). Server-owned metadata is not compared.
 */
export function covers(actual: unknown, wanted: unknown, atMetadata = false): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) && actual.length === wanted.length && wanted.every((w, i) => covers(actual[i], w))
    );
  }
  if (isObject(wanted)) {
    if (!isObject(actual)) return false;
    return Object.entries(wanted).every(
      ([key, w]) =>
        (atMetadata && SERVER_OWNED_METADATA.has(key)) || covers(actual[key], w, key === 'metadata'),
    );
  }
  return actual === wanted;
}

/**
 * The path to read back after a write whose first attempt was lost, or undefined when there is
 * nothing to compare: a create names its object in the body (not generateName), a replace is
 * the object's own path. Action subresources (start, stop…) carry no object.
 */
export function readBackPath(sent: SentRequest): string | undefined {
  if (!isObject(sent.body)) return undefined;
  const meta = sent.body['metadata'];
  if (!isObject(meta) || typeof meta['name'] !== 'string' || meta['name'] === '') return undefined;
  const bare = sent.path.split('?')[0] ?? sent.path;
  if (sent.method === 'POST') return `${bare}/${encodeURIComponent(meta['name'])}`;
  if (sent.method === 'PUT') return bare;
  return undefined;
}

/** What a replace asks for: the status of a main-resource PUT is ignored by the server. */
function comparable(sent: SentRequest): unknown {
  if (!isObject(sent.body) || sent.method !== 'PUT' || /\/status$/.test(sent.path.split('?')[0] ?? ''))
    return sent.body;
  const { status: _ignored, ...rest } = sent.body;
  return rest;
}

/**
 * Decides what an error answering a request sent again means. `read` GETs a path (throwing when it
 * cannot). Returns settled when the write is known to have taken effect the first time.
 */
export async function settleAfterLoss(
  sent: SentRequest,
  code: number,
  reason: string,
  read: (path: string) => Promise<unknown>,
): Promise<LostAttemptOutcome> {
  if (sent.method === 'DELETE' && code === 404) return { settled: true, value: undefined };
  const duplicate =
    (sent.method === 'POST' && reason === 'AlreadyExists') ||
    (sent.method === 'PUT' && reason === 'Conflict');
  const path = duplicate ? readBackPath(sent) : undefined;
  if (path === undefined) return { settled: false };
  let current: unknown;
  try {
    current = await read(path);
  } catch {
    return { settled: false };
  }
  return covers(current, comparable(sent)) ? { settled: true, value: current } : { settled: false };
}

/** Appended to an error that answered a request sent again. */
export const LOST_ATTEMPT_NOTE =
  ' (an earlier attempt was cut off by the network before its answer arrived; it may have been applied)';
