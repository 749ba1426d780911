/**
 * List, then watch from the list's resourceVersion, as client-go's reflector does: the watch resumes
 * from the last version seen (bookmarks included) when the server ends it, and a 410 Gone (history
 * compacted) starts over with a fresh list. Network failures retry with a capped back-off.
 */
import { ApiStatusError, authHeaders, failure, withQuery } from './client';
import type { KubeList, KubeObject, Status } from './types';
import type { WatchQuery } from './watchCache';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchHandlers<T> {
  /** The full state after a (re)list: replaces whatever was known. */
  sync(items: T[]): void;
  event(type: WatchEventType, object: T): void;
  /** A failure the watch is retrying after; cleared by the next sync or event. */
  error(err: Error): void;
}

export type { WatchQuery };

const MAX_BACKOFF_MS = 10_000;

/** Starts listing and watching `path`; returns a function that stops it. */
export function listWatch<T extends KubeObject>(
  path: string,
  query: WatchQuery,
  handlers: WatchHandlers<T>,
): () => void {
  const abort = new AbortController();
  void run(path, query, handlers, abort.signal);
  return () => abort.abort();
}

async function run<T extends KubeObject>(
  path: string,
  query: WatchQuery,
  handlers: WatchHandlers<T>,
  signal: AbortSignal,
): Promise<void> {
  let rv = '';
  let backoff = 500;
  while (!signal.aborted) {
    try {
      if (rv === '') {
        const res = await fetch(withQuery(path, { ...query }), { headers: authHeaders(), signal });
        if (!res.ok) throw await failure(res, `listing ${path}`);
        const list = (await res.json()) as KubeList<T>;
        handlers.sync(list.items);
        rv = list.metadata.resourceVersion ?? '';
      }
      rv = await watchOnce(path, query, rv, handlers, signal);
      backoff = 500;
    } catch (err) {
      if (signal.aborted) return;
      const e = err instanceof Error ? err : new Error(String(err));
      if (e instanceof ApiStatusError && e.code === 410) {
        rv = '';
        continue;
      }
      if (e instanceof ApiStatusError && e.code === 401) return; // the session is over
      handlers.error(e);
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

/** One watch request; returns the last resourceVersion seen when the server ends it. */
async function watchOnce<T extends KubeObject>(
  path: string,
  query: WatchQuery,
  since: string,
  handlers: WatchHandlers<T>,
  signal: AbortSignal,
): Promise<string> {
  let rv = since;
  const url = withQuery(path, {
    ...query,
    watch: 'true',
    resourceVersion: since,
    allowWatchBookmarks: 'true',
    timeoutSeconds: String(240 + Math.floor(Math.random() * 60)),
  });
  const res = await fetch(url, { headers: authHeaders(), signal });
  if (!res.ok) throw await failure(res, `watching ${path}`);
  if (res.body === null) return rv;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return rv;
    buffered += value;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line === '') continue;
      const event = JSON.parse(line) as { type: string; object: T | Status };
      if (event.type === 'ERROR') {
        const status = event.object as Status;
        throw ApiStatusError.fromStatus(status.code, status, `watch of ${path} failed`);
      }
      const object = event.object as T;
      rv = object.metadata.resourceVersion ?? rv;
      if (event.type === 'BOOKMARK') continue;
      handlers.event(event.type as WatchEventType, object);
    }
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
