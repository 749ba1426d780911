/**
 * Watch: a chunked stream of `{"type":…,"object":…}` lines. It subscribes to the store before
 * replaying, so nothing committed between the replay and the live stream is lost or sent twice.
 * `resourceVersion` unset or "0" starts with the current state as ADDED events; a known version
 * resumes from the history; a compacted one gets an ERROR event carrying a 410 Gone Status.
 */
import { apiVersionOf } from '../api/kind.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';
import type { StoreEvent } from '../store/store.js';
import { ApiError, statusFor, toApiError } from './errors.js';
import { includeObjectOf, selectObjects, wantsTable, type RequestContext } from './resources.js';
import { queryBool } from './query.js';
import { renderTable } from './tables.js';
import { startStream } from './http.js';

export interface WatchSettings {
  bookmarkIntervalMs: number;
  defaultTimeoutSeconds: number;
}

export function handleWatch(ctx: RequestContext, settings: WatchSettings): void {
  const { res, route, query, registry } = ctx;
  const { def } = route;
  const resource = `${def.group}/${def.plural}`;
  const namespace = route.allNamespaces || !def.namespaced ? undefined : route.namespace;
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  const table = wantsTable(ctx.req);
  const include = includeObjectOf(query);
  const bookmarks = queryBool(query, 'allowWatchBookmarks');
  const matches = (e: StoreEvent): boolean =>
    e.resource === resource &&
    (namespace === undefined || e.namespace === namespace) &&
    labels.matches(e.object.metadata.labels) &&
    fields.matches(e.object);

  const body = startStream(res, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  const send = (type: string, e: Pick<StoreEvent, 'object' | 'json'>): void => {
    const object = table
      ? JSON.stringify(
          renderTable(def, [e.object], e.object.metadata.resourceVersion ?? '', include, ctx.now()),
        )
      : e.json;
    body.write(`{"type":"${type}","object":${object}}\n`);
  };

  let lastSent = 0;
  const pending: StoreEvent[] = [];
  let replaying = true;
  const unsubscribe = registry.store.subscribe((e) => {
    if (!matches(e)) return;
    if (replaying) pending.push(e);
    else if (ctx.stillAllowed?.() === false) revoked();
    else if (e.rv > lastSent) {
      lastSent = e.rv;
      send(e.type, e);
    }
  });

  const timers: NodeJS.Timeout[] = [];
  const close = (): void => {
    unsubscribe();
    for (const t of timers) clearInterval(t);
  };
  res.on('close', close);
  const revoked = (): void => {
    const status = statusFor(
      new ApiError('Forbidden', 'the watch ended: its user may no longer watch this resource'),
    );
    close();
    res.end(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
  };

  const rvParam = query.get('resourceVersion') ?? '';
  try {
    if (rvParam === '' || rvParam === '0') {
      const { items, rv } = selectObjects(ctx);
      for (const o of items) send('ADDED', o);
      lastSent = rv;
    } else {
      const since = Number(rvParam);
      if (!Number.isInteger(since) || since < 0)
        throw new ApiError('BadRequest', `invalid resourceVersion ${JSON.stringify(rvParam)}`);
      for (const e of registry.store.changesSince(since)) {
        if (matches(e)) send(e.type, e);
      }
      lastSent = Math.max(since, registry.store.currentRv());
    }
  } catch (err) {
    const apiErr = toApiError(err);
    const status =
      apiErr.reason === 'Gone'
        ? statusFor(
            new ApiError('Gone', `too old resource version: ${rvParam} (${registry.store.currentRv()})`),
          )
        : statusFor(apiErr);
    res.end(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
    close();
    return;
  }
  replaying = false;
  for (const e of pending) {
    if (e.rv > lastSent) {
      lastSent = e.rv;
      send(e.type, e);
    }
  }

  if (bookmarks) {
    timers.push(
      setInterval(() => {
        const rv = String(Math.max(lastSent, registry.store.currentRv()));
        const object = { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: rv } };
        body.write(`{"type":"BOOKMARK","object":${JSON.stringify(object)}}\n`);
      }, settings.bookmarkIntervalMs),
    );
  }
  const timeout = Number(query.get('timeoutSeconds') ?? settings.defaultTimeoutSeconds);
  const end = setTimeout(() => res.end(), Math.max(1, timeout) * 1000);
  res.on('close', () => clearTimeout(end));
}
