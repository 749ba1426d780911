/**
 * The Kubernetes-compatible API server: bearer-token authentication, discovery, OpenAPI, and
 * resource routes handed to resources.ts / watch.ts, over TLS with HTTP/2 and HTTP/1.1
 * (listener.ts). Every failure leaves as a Status.
 */
import type { IncomingMessage } from 'node:http';
import type { KindDefinition } from '../api/kind.js';
import * as discovery from './discovery.js';
import { ApiError, toApiError } from './errors.js';
import { sendError, sendJson, sendRaw, type ApiRequest, type ApiResponse } from './http.js';
import { Listener } from './listener.js';
import { buildOpenApi, SERVER_VERSION, type OpenApiDocs } from './openapi.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_RESPONSE } from './openapi-proto.js';
import { parseResourcePath } from './paths.js';
import { queryBool } from './query.js';
import type { Registry } from './registry.js';
import { handleResource } from './resources.js';
import type { ServingCerts } from './tls.js';
import { handleWatch, type WatchSettings } from './watch.js';
import { matchSubresource, subresourceList, type Subresource } from './subresources.js';
import type { Duplex } from 'node:stream';
import { decodeBody, readBody } from './http.js';
import { statusFor } from './errors.js';
import type { ConsoleSite } from './static.js';
import { Gate, type Admitted } from './auth/gate.js';
import { escalationGuard } from './auth/escalation.js';
import { MASTERS } from './auth/user.js';
import type { AuditLog } from './auth/audit.js';
import { isReviewPath, review } from './auth/reviews.js';
import { isOlderVersion } from '../api/versions.js';
import { answerInOlderVersion, converterFor } from './conversion.js';
import { ServedKinds } from './served-kinds.js';

interface KindView {
  gvs: discovery.GroupVersion[];
  byPath: Map<string, KindDefinition>;
  openapi?: OpenApiDocs;
}

export interface ApiServerOptions {
  registry: Registry;
  /** A fixed list, or a ServedKinds set that CRDs change at run time. */
  kinds: readonly KindDefinition[] | ServedKinds;
  certs: ServingCerts;
  /** Bearer tokens accepted as the admin user. */
  tokens: readonly string[];
  /** Bearer tokens that may only read `/metrics` (for Prometheus); anything else gets 403. */
  scrapeTokens?: readonly string[];
  /** Signs service account tokens (TokenRequest); without it none are issued or accepted. */
  signingKey?: Buffer;
  /** Where mutating and denied requests are recorded. */
  audit?: AuditLog;
  watch?: Partial<WatchSettings>;
  now?: () => Date;
  /** Why the parts behind the API are not ready (e.g. the data dir is full), for /readyz. */
  notReady?: () => string | undefined;
  /** Action and streaming subresources (start, stop, console, vnc…). */
  subresources?: readonly Subresource[];
  /** Extra authenticated GET routes outside the resource tree (/metrics, the metrics query API). */
  routes?: readonly ExtraRoute[];
  /** Routes that check their own credential, served before authentication (CDI's upload proxy). */
  publicRoutes?: readonly ExtraRoute[];
  /** Told of every finished request, with its status code and duration (request metrics). */
  observe?: (req: ApiRequest, code: number, seconds: number) => void;
  /** The web console's files, served publicly at / and /console/* (src/apiserver/static.ts). */
  console?: ConsoleSite;
}

export interface ExtraRoute {
  /** An exact path, or a pattern the whole path must match (its groups are passed on). */
  path: string | RegExp;
  handle(req: ApiRequest, res: ApiResponse, url: URL, match: readonly string[]): Promise<void> | void;
}

const PUBLIC_PATHS = new Set([
  '/version',
  '/healthz',
  '/livez',
  '/readyz',
  '/healthz/ping',
  '/livez/ping',
  '/readyz/ping',
]);

export class ApiServer {
  private readonly listener: Listener;
  private readonly kinds: ServedKinds;
  /** Discovery, OpenAPI and routes of the served kinds; rebuilt on first use after a change. */
  private view: KindView | undefined;
  /** Authentication, RBAC and the audit log (src/apiserver/auth/). */
  readonly gate: Gate;
  private readonly watchSettings: WatchSettings;
  private readonly now: () => Date;
  private address = '127.0.0.1:6443';

  constructor(private readonly options: ApiServerOptions) {
    this.kinds = options.kinds instanceof ServedKinds ? options.kinds : new ServedKinds(options.kinds);
    this.kinds.onChange(() => (this.view = undefined));
    this.now = options.now ?? (() => new Date());
    this.gate = new Gate({
      registry: options.registry,
      adminTokens: options.tokens,
      scrapeTokens: options.scrapeTokens ?? [],
      ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
      ...(options.audit !== undefined ? { audit: options.audit } : {}),
      now: this.now,
    });
    this.watchSettings = { bookmarkIntervalMs: 10_000, defaultTimeoutSeconds: 1800, ...options.watch };
    this.listener = new Listener({
      key: options.certs.key,
      cert: options.certs.cert,
      clientCa: options.certs.caCert,
      request: (req, res) => {
        const observe = options.observe;
        if (observe !== undefined) {
          const started = performance.now();
          res.once('close', () => observe(req, res.statusCode, (performance.now() - started) / 1000));
        }
        this.handle(req, res).catch((err: unknown) => sendError(res, toApiError(err)));
      },
      upgrade: (req, socket, head) => {
        this.upgrade(req, socket, head).catch((err: unknown) => rejectUpgrade(socket, toApiError(err)));
      },
    });
  }

  private get served(): KindView {
    if (this.view === undefined) {
      const byPath = new Map<string, KindDefinition>();
      for (const def of this.kinds.all()) byPath.set(`${def.group}/${def.version}/${def.plural}`, def);
      this.view = { gvs: discovery.groupVersions(this.kinds.all(), discovery.REVIEW_ENDPOINTS), byPath };
    }
    return this.view;
  }

  /** Built lazily: a CRD applied changes it, and most clients never read it. */
  private openapi(): OpenApiDocs {
    const view = this.served;
    view.openapi ??= buildOpenApi(view.gvs.filter((gv) => gv.kinds.length > 0));
    return view.openapi;
  }

  private get subresources(): readonly Subresource[] {
    return this.options.subresources ?? [];
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = requestUrl(req);
    this.gate.admit(req, undefined, url.pathname.replace(/\/+$/, '') || '/', url.searchParams);
    const route = matchSubresource(url.pathname, this.subresources);
    if (route?.sub.upgrade === undefined)
      throw new ApiError('NotFound', 'the server could not find the requested resource');
    await route.sub.upgrade({
      namespace: route.namespace,
      name: route.name,
      args: route.args,
      query: url.searchParams,
      req,
      socket,
      head,
    });
  }

  private async handleSubresource(req: ApiRequest, res: ApiResponse, url: URL): Promise<boolean> {
    const route = matchSubresource(url.pathname, this.subresources);
    if (route === undefined) return false;
    const { sub } = route;
    const verbs = sub.verbs ?? ['PUT'];
    if (sub.handle === undefined || !verbs.includes(req.method ?? '')) {
      throw new ApiError(
        'MethodNotAllowed',
        `${req.method ?? ''} is not supported on ${sub.resource}/${sub.name}`,
      );
    }
    const raw = sub.streamBody === true ? Buffer.alloc(0) : await readBody(req);
    const body = raw.length === 0 ? {} : decodeBody(raw, req.headers['content-type']);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ApiError('BadRequest', 'the request body must be a JSON object');
    const result = await sub.handle(
      {
        namespace: route.namespace,
        name: route.name,
        args: route.args,
        query: url.searchParams,
        body: body as Record<string, unknown>,
      },
      { req, res },
    );
    if (res.headersSent) return true;
    if (result === undefined) res.writeHead(202).end();
    else sendJson(res, 200, result);
    return true;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const bound = await this.listener.listen(host, port);
    this.address = `${host}:${bound}`;
    return { host, port: bound };
  }

  close(): Promise<void> {
    this.gate.close();
    return this.listener.close();
  }

  private async handle(req: ApiRequest, res: ApiResponse): Promise<void> {
    const url = requestUrl(req);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (this.options.console !== undefined && (await this.options.console.serve(req, res))) return;
    // Routes with a credential of their own (the upload proxy's token), served before authentication.
    for (const r of this.options.publicRoutes ?? []) {
      const match = typeof r.path === 'string' ? (r.path === path ? [path] : null) : r.path.exec(path);
      if (match !== null)
        return r.handle(
          req,
          res,
          url,
          [...match].map((m) => m ?? ''),
        );
    }
    let admitted: Admitted | undefined;
    if (!PUBLIC_PATHS.has(path)) {
      admitted = this.gate.admit(req, res, path, url.searchParams);
      if (req.method === 'POST' && (await this.answerReview(req, res, admitted.attrs, admitted.user))) return;
    }
    if (await this.serveRoute(path, req, res, url)) return;
    if (this.serveNonResource(path, req, res)) return;
    if (await this.handleSubresource(req, res, url)) return;
    const route = parseResourcePath(path, (g, v, p) => this.served.byPath.get(`${g}/${v}/${p}`));
    if (route === undefined)
      throw new ApiError('NotFound', 'the server could not find the requested resource');
    const older = isOlderVersion(route.def) ? route.def : undefined;
    if (older !== undefined) {
      answerInOlderVersion(older, res);
      route.def = older.storage;
    }
    const ctx = {
      req,
      res,
      route,
      query: url.searchParams,
      registry: this.options.registry,
      now: this.now,
      ...(older !== undefined ? { convert: converterFor(older) } : {}),
      ...(admitted !== undefined && !admitted.user.groups.includes(MASTERS)
        ? { guard: escalationGuard(this.gate.authorizer, this.gate.index, admitted.user) }
        : {}),
    };
    if (req.method === 'GET' && route.name === undefined && queryBool(url.searchParams, 'watch')) {
      // Checked again before each event: a watch ends once its user loses the right to it.
      const a = admitted === undefined ? undefined : { ...admitted.attrs, user: admitted.user };
      const authorizer = this.gate.authorizer;
      handleWatch(
        a === undefined ? ctx : { ...ctx, stillAllowed: () => authorizer.authorize(a).allowed },
        this.watchSettings,
      );
      return;
    }
    await handleResource(ctx);
  }

  /** TokenRequest and the access reviews: answered from the gate, never stored. */
  private async answerReview(
    req: ApiRequest,
    res: ApiResponse,
    attrs: Parameters<typeof review>[0],
    user: Parameters<typeof review>[3]['user'],
  ): Promise<boolean> {
    if (!isReviewPath(attrs)) return false;
    const body = decodeBody(await readBody(req), req.headers['content-type']);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ApiError('BadRequest', 'the request body must be a JSON object');
    const answer = review(attrs, 'POST', body as Record<string, unknown>, {
      user,
      authorizer: this.gate.authorizer,
      registry: this.options.registry,
      signingKey: this.options.signingKey,
      now: this.now,
    });
    if (answer === undefined) return false;
    sendJson(res, answer.code, answer.object);
    return true;
  }

  private async serveRoute(path: string, req: ApiRequest, res: ApiResponse, url: URL): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    for (const route of this.options.routes ?? []) {
      const match =
        typeof route.path === 'string' ? (route.path === path ? [path] : null) : route.path.exec(path);
      if (match === null) continue;
      await route.handle(
        req,
        res,
        url,
        [...match].map((m) => m ?? ''),
      );
      return true;
    }
    return false;
  }

  /** Version, health, discovery and OpenAPI. Returns false when the path is not one of them. */
  private serveNonResource(path: string, req: ApiRequest, res: ApiResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const aggregated = discovery.wantsAggregated(req.headers.accept);
    switch (path) {
      case '/version':
        sendJson(res, 200, {
          ...SERVER_VERSION,
          gitCommit: '',
          gitTreeState: 'clean',
          buildDate: '',
          goVersion: '',
          compiler: 'node',
          platform: `${process.platform}/${process.arch}`,
        });
        return true;
      case '/healthz':
      case '/livez':
      case '/healthz/ping':
      case '/livez/ping':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return true;
      case '/readyz':
      case '/readyz/ping': {
        const reason = this.options.notReady?.();
        if (reason === undefined) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        else
          res
            .writeHead(503, { 'Content-Type': 'text/plain' })
            .end(`[-]store failed: ${reason}\nreadyz check failed\n`);
        return true;
      }
      case '/api':
        if (aggregated) sendAggregated(res, discovery.aggregatedDiscovery(this.served.gvs, true));
        else sendJson(res, 200, discovery.apiVersions(this.address));
        return true;
      case '/apis':
        if (aggregated) sendAggregated(res, discovery.aggregatedDiscovery(this.served.gvs, false));
        else sendJson(res, 200, discovery.apiGroupList(this.served.gvs));
        return true;
      case '/openapi/v2':
        if ((req.headers.accept ?? '').includes(OPENAPI_V2_PROTOBUF)) {
          res.writeHead(200, {
            'Content-Type': OPENAPI_V2_PROTOBUF_RESPONSE,
            'Content-Length': String(this.openapi().v2Protobuf.length),
          });
          if (req.method === 'HEAD') res.end();
          else res.end(this.openapi().v2Protobuf);
        } else sendRaw(res, 200, this.openapi().v2);
        return true;
      case '/openapi/v3':
        sendJson(res, 200, this.openapi().index);
        return true;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.openapi().byGroupVersion.get(path.slice('/openapi/v3/'.length));
      if (doc === undefined) throw new ApiError('NotFound', `no OpenAPI document for ${path}`);
      res.setHeader('ETag', `"${doc.hash}"`);
      sendRaw(res, 200, doc.json);
      return true;
    }
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] === 'api' && parts.length === 2) return this.sendResourceList(res, '', parts[1] ?? '');
    if (parts[0] === 'apis' && parts.length === 3)
      return this.sendResourceList(res, parts[1] ?? '', parts[2] ?? '');
    if (parts[0] === 'apis' && parts.length === 2) {
      const doc = discovery.apiGroupDoc(parts[1] ?? '', this.served.gvs);
      if (doc === undefined)
        throw new ApiError('NotFound', `the server could not find the requested resource`);
      sendJson(res, 200, doc);
      return true;
    }
    return false;
  }

  private sendResourceList(res: ApiResponse, group: string, version: string): boolean {
    if (this.subresources.some((s) => s.group === group && s.version === version)) {
      sendJson(res, 200, subresourceList(group, version, this.subresources));
      return true;
    }
    const gv = this.served.gvs.find((g) => g.group === group && g.version === version);
    if (gv === undefined) throw new ApiError('NotFound', 'the server could not find the requested resource');
    sendJson(res, 200, discovery.apiResourceList(gv));
    return true;
  }
}

/** The request's URL, refused (400) when it does not parse or its path has a malformed `%` escape. */
function requestUrl(req: ApiRequest): URL {
  const target = req.url ?? '/';
  let url: URL;
  try {
    url = new URL(target, 'https://localhost');
    decodeURIComponent(url.pathname);
  } catch {
    throw new ApiError('BadRequest', `the request path ${JSON.stringify(target.slice(0, 200))} is malformed`);
  }
  return url;
}

function sendAggregated(res: ApiResponse, doc: unknown): void {
  const json = JSON.stringify(doc);
  res.writeHead(200, {
    'Content-Type': discovery.AGGREGATED_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(json)),
  });
  res.end(json);
}

function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const json = JSON.stringify(statusFor(err));
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
