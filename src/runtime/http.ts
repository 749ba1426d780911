/**
 * The runtime's transport over HTTP to any Kubernetes API server (a real cluster, or `hikube up`
 * from another process), authenticated with a kubeconfig as kubectl is. Lists, then watches from
 * the list's resourceVersion with bookmarks; a watch that the server ends is resumed from the last
 * version seen, and a 410 Gone (status code or ERROR event) tells the informer to list again.
 * The initial list comes in pages (limit/continue), as client-go's pager does, so a big
 * collection is not one huge answer. A 401 reads the kubeconfig file again (a rotated token, a
 * projected service account token) and tries once more. Failures come back as the server's
 * Status, rebuilt into an ApiError.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { apiVersionOf, type FieldErrorReason, type KindDefinition } from '../api/kind.js';
import type { KubeObject, Status } from '../api/meta.js';
import { ApiError, type ErrorDetails, type Reason } from '../apiserver/errors.js';
import type { DeleteOptions } from '../apiserver/registry.js';
import { KubeApiError, KubeClient, resourcePath } from '../client/kube.js';
import type { ApiTransport, ObjectList, WatchHandlers } from './transport.js';

/** Servers end watches after this long; the informer resumes from the last resourceVersion. */
const WATCH_TIMEOUT_SECONDS = 300;
/** Objects per page of a list (client-go's default). */
const PAGE_SIZE = 500;

export interface HttpTransportOptions {
  /** Reads the credentials again after a 401 (fromKubeconfig: the kubeconfig file). */
  reload?: () => KubeClient;
  /** Objects per page of a list; default 500. */
  pageSize?: number;
}

const pathOf = (def: KindDefinition, namespace?: string, name?: string): string =>
  resourcePath({ ...def, shortNames: def.shortNames ?? [] }, namespace, name);

export class HttpTransport implements ApiTransport {
  readonly describe: string;

  private kube: KubeClient;
  private readonly pageSize: number;

  constructor(
    kube: KubeClient,
    private readonly options: HttpTransportOptions = {},
  ) {
    this.kube = kube;
    this.describe = kube.server;
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  /** `kubeconfig` as for kubectl: the file given, else $KUBECONFIG, else `fallback`; re-read on 401. */
  static fromKubeconfig(
    kubeconfig: string | undefined,
    fallback: string,
    options: Omit<HttpTransportOptions, 'reload'> = {},
  ): HttpTransport {
    const load = (): KubeClient => KubeClient.load(kubeconfig, fallback);
    return new HttpTransport(load(), { ...options, reload: load });
  }

  /**
   * Every page, followed by its continue token. The resourceVersion is the first page's: the
   * later pages are of the same snapshot, and the watch resumes from there.
   */
  async list(def: KindDefinition, namespace?: string): Promise<ObjectList> {
    const items: KubeObject[] = [];
    let resourceVersion: string | undefined;
    let token = '';
    do {
      const query = new URLSearchParams({ limit: String(this.pageSize) });
      if (token !== '') query.set('continue', token);
      const page = await this.call<{
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>('GET', `${pathOf(def, namespace)}?${query.toString()}`);
      // Items of a list carry no apiVersion and kind on a real server.
      for (const o of page?.items ?? []) items.push({ ...o, apiVersion: apiVersionOf(def), kind: def.kind });
      resourceVersion ??= page?.metadata?.resourceVersion ?? '';
      token = page?.metadata?.continue ?? '';
    } while (token !== '');
    return { items, resourceVersion: resourceVersion ?? '' };
  }

  watch(
    def: KindDefinition,
    resourceVersion: string,
    handlers: WatchHandlers,
    namespace?: string,
  ): () => void {
    const query = new URLSearchParams({
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion,
      timeoutSeconds: String(WATCH_TIMEOUT_SECONDS),
    });
    const url = new URL(`${pathOf(def, namespace)}?${query.toString()}`, this.kube.server);
    let stopped = false;
    let ended = false;
    const end = (reason: { gone: boolean; error?: unknown }): void => {
      if (stopped || ended) return;
      ended = true;
      handlers.end(reason);
    };
    let abort: () => void = () => undefined;
    void this.kube.connectionOptions().then(
      (options) => {
        if (stopped) return;
        const req = this.open(url, options, (res) => {
          if (res.statusCode !== 200) {
            // The informer resumes at once: with the credentials read again after a 401.
            if (res.statusCode === 401) this.reload();
            readAll(res).then(
              (body) => end({ gone: res.statusCode === 410, error: toApiError(res.statusCode ?? 0, body) }),
              (error: unknown) => end({ gone: false, error }),
            );
            return;
          }
          streamLines(res, (line) => {
            const e = JSON.parse(line) as { type: string; object: KubeObject | Status };
            if (e.type === 'BOOKMARK') {
              const rv = (e.object as KubeObject).metadata.resourceVersion ?? '';
              if (rv !== '') handlers.event({ type: 'BOOKMARK', resourceVersion: rv });
            } else if (e.type === 'ERROR') {
              const status = e.object as Status;
              end({
                gone: status.code === 410,
                error: toApiError(status.code ?? 500, JSON.stringify(status)),
              });
              req.destroy();
            } else if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') {
              handlers.event({ type: e.type, object: e.object as KubeObject });
            }
          });
          res.on('close', () => end({ gone: false }));
          res.on('error', (error) => end({ gone: false, error }));
        });
        req.on('error', (error) => end({ gone: false, error }));
        req.end();
        abort = () => req.destroy();
      },
      (error: unknown) => end({ gone: false, error }),
    );
    return () => {
      stopped = true;
      abort();
    };
  }

  async get(def: KindDefinition, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.call<KubeObject>('GET', pathOf(def, namespace, name));
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  }

  async create(def: KindDefinition, object: KubeObject): Promise<KubeObject> {
    return this.call<KubeObject>('POST', pathOf(def, object.metadata.namespace ?? ''), object);
  }

  async update(def: KindDefinition, object: KubeObject, subresource?: 'status'): Promise<KubeObject> {
    const path = pathOf(def, object.metadata.namespace ?? '', object.metadata.name ?? '');
    return this.call<KubeObject>('PUT', subresource === undefined ? path : `${path}/status`, object);
  }

  async delete(
    def: KindDefinition,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      ...(options.propagationPolicy !== undefined ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.preconditions !== undefined ? { preconditions: options.preconditions } : {}),
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
      ...(options.dryRun === true ? { dryRun: ['All'] } : {}),
    };
    try {
      await this.call('DELETE', pathOf(def, namespace, name), body);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.kube.call<T>(method, path, body)).value;
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err;
        if (err.code === 401 && attempt === 0 && this.reload()) continue;
        throw fromStatus(err.code, err.status, err.message);
      }
    }
  }

  /** Reads the credentials again; false when there is nothing to read them from. */
  private reload(): boolean {
    if (this.options.reload === undefined) return false;
    try {
      this.kube = this.options.reload();
      return true;
    } catch {
      return false; // a file being rewritten: the next 401 tries again
    }
  }

  private open(url: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void) {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return send(
      url,
      { ...options, method: 'GET', headers: { ...options.headers, Accept: 'application/json' } },
      onResponse,
    );
  }
}

const REASONS_BY_CODE: Record<number, Reason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  422: 'Invalid',
  504: 'Timeout',
};

/** The server's Status as the ApiError the in-process transport would have thrown. */
function fromStatus(code: number, status: Status | undefined, message: string): ApiError {
  const reason = (status?.reason as Reason | undefined) ?? REASONS_BY_CODE[code] ?? 'InternalError';
  // 409 AlreadyExists and 409 Conflict share a code: the Status says which.
  const d = status?.details ?? {};
  const details: ErrorDetails = {
    ...(d.name !== undefined ? { name: d.name } : {}),
    ...(d.group !== undefined ? { group: d.group } : {}),
    ...(d.kind !== undefined ? { kind: d.kind } : {}),
    ...(d.causes !== undefined
      ? {
          causes: d.causes.map((c) => ({
            path: c.field ?? '',
            message: c.message,
            reason: c.reason as FieldErrorReason,
          })),
        }
      : {}),
  };
  return new ApiError(reason, status?.message ?? message, details);
}

function toApiError(code: number, body: string): ApiError {
  let status: Status | undefined;
  try {
    status = JSON.parse(body) as Status;
  } catch {
    status = undefined;
  }
  return fromStatus(code, status, `the server answered ${code}: ${body.slice(0, 200)}`);
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** Calls `onLine` with each complete line of a chunked stream; a line that does not parse ends it. */
function streamLines(res: IncomingMessage, onLine: (line: string) => void): void {
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at).trim();
      buffered = buffered.slice(at + 1);
      if (line === '') continue;
      try {
        onLine(line);
      } catch (err) {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
  });
}
