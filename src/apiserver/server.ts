/**
 * The Kubernetes-compatible API server: TLS, bearer-token authentication, discovery, OpenAPI,
 * and resource routes handed to resources.ts / watch.ts. Every failure leaves as a Status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KindDefinition } from '../api/kind.js';
import * as discovery from './discovery.js';
import { ApiError, toApiError } from './errors.js';
import { sendError, sendJson, sendRaw } from './http.js';
import { buildOpenApi, SERVER_VERSION, type OpenApiDocs } from './openapi.js';
import { parseResourcePath } from './paths.js';
import type { Registry } from './registry.js';
import { handleResource } from './resources.js';
import type { ServingCerts } from './tls.js';
import { handleWatch, type WatchSettings } from './watch.js';
import { matchSubresource, subresourceList, type Subresource } from './subresources.js';
import type { Duplex } from 'node:stream';
import { decodeBody, readBody } from './http.js';
import { statusFor } from './errors.js';
import type { ConsoleSite } from './static.js';
import { bearerToken, TokenSet } from './bearer.js';

export interface ApiServerOptions {
  registry: Registry;
  kinds: readonly KindDefinition[];
  certs: ServingCerts;
  /** Bearer tokens accepted as the admin user. */
  tokens: readonly string[];
  /** Bearer tokens that may only read `/metrics` (for Prometheus); anything else gets 403. */
  scrapeTokens?: readonly string[];
  watch?: Partial<WatchSettings>;
  now?: () => Date;
  /** Health of the parts behind the API, for /readyz. */
  ready?: () => boolean;
  /** Action and streaming subresources (start, stop, console, vnc…). */
  subresources?: readonly Subresource[];
  /** Extra authenticated GET routes outside the resource tree (/metrics, the metrics query API). */
  routes?: readonly ExtraRoute[];
  /** Told of every finished request, with its status code and duration (request metrics). */
  observe?: (req: IncomingMessage, code: number, seconds: number) => void;
  /** The web console's files, served publicly at / and /console/* (src/apiserver/static.ts). */
  console?: ConsoleSite;
}

export interface ExtraRoute {
  /** An exact path, or a pattern the whole path must match (its groups are passed on). */
  path: string | RegExp;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, match: readonly string[]): Promise<void> | void;
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
  private readonly server: Server;
  private readonly gvs: discovery.GroupVersion[];
  private readonly openapi: OpenApiDocs;
  private readonly byPath = new Map<string, KindDefinition>();
  private readonly tokens: TokenSet;
  private readonly scrapeTokens: TokenSet;
  private readonly watchSettings: WatchSettings;
  private readonly now: () => Date;
  private address = '127.0.0.1:6443';
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly options: ApiServerOptions) {
    this.gvs = discovery.groupVersions(options.kinds);
    this.openapi = buildOpenApi(this.gvs);
    for (const def of options.kinds) this.byPath.set(`${def.group}/${def.version}/${def.plural}`, def);
    this.tokens = new TokenSet(options.tokens);
    this.scrapeTokens = new TokenSet(options.scrapeTokens ?? []);
    this.watchSettings = { bookmarkIntervalMs: 10_000, defaultTimeoutSeconds: 1800, ...options.watch };
    this.now = options.now ?? (() => new Date());
    this.server = createServer({ key: options.certs.key, cert: options.certs.cert }, (req, res) => {
      const observe = options.observe;
      if (observe !== undefined) {
        const started = performance.now();
        res.once('close', () => observe(req, res.statusCode, (performance.now() - started) / 1000));
      }
      this.handle(req, res).catch((err: unknown) => sendError(res, toApiError(err)));
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Upgraded sockets are the server's no more: track them so close() can end them, and never
      // let a reset on one crash the process.
      socket.on('error', () => undefined);
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      this.upgrade(req, socket, head).catch((err: unknown) => rejectUpgrade(socket, toApiError(err)));
    });
  }

  private get subresources(): readonly Subresource[] {
    return this.options.subresources ?? [];
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (!this.authenticated(req)) throw new ApiError('Unauthorized', 'Unauthorized');
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

  private async handleSubresource(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
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
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.address = `${host}:${addr.port}`;
    return { host, port: addr.port };
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
    await closed;
  }

  private authenticated(req: IncomingMessage): boolean {
    return this.identify(req) === 'admin';
  }

  /** Who the bearer token (or WebSocket subprotocol token) names, if anyone. */
  private identify(req: IncomingMessage): 'admin' | 'scraper' | undefined {
    const token = bearerToken(req.headers.authorization) ?? webSocketToken(req);
    if (this.tokens.has(token)) return 'admin';
    return this.scrapeTokens.has(token) ? 'scraper' : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (this.options.console !== undefined && (await this.options.console.serve(req, res))) return;
    if (!PUBLIC_PATHS.has(path)) {
      const who = this.identify(req);
      if (who === undefined) throw new ApiError('Unauthorized', 'Unauthorized');
      if (who === 'scraper' && !(path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')))
        throw new ApiError(
          'Forbidden',
          `the scrape token may only GET /metrics, not ${req.method ?? ''} ${path}`,
        );
    }
    if (await this.serveRoute(path, req, res, url)) return;
    if (this.serveNonResource(path, req, res)) return;
    if (await this.handleSubresource(req, res, url)) return;
    const route = parseResourcePath(path, (g, v, p) => this.byPath.get(`${g}/${v}/${p}`));
    if (route === undefined)
      throw new ApiError('NotFound', 'the server could not find the requested resource');
    const ctx = { req, res, route, query: url.searchParams, registry: this.options.registry, now: this.now };
    const watch = url.searchParams.get('watch');
    if (req.method === 'GET' && route.name === undefined && (watch === 'true' || watch === '1')) {
      handleWatch(ctx, this.watchSettings);
      return;
    }
    await handleResource(ctx);
  }

  private async serveRoute(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<boolean> {
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
  private serveNonResource(path: string, req: IncomingMessage, res: ServerResponse): boolean {
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
        const ready = this.options.ready?.() ?? true;
        res.writeHead(ready ? 200 : 500, { 'Content-Type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
        return true;
      }
      case '/api':
        if (aggregated) sendAggregated(res, discovery.aggregatedDiscovery(this.gvs, true));
        else sendJson(res, 200, discovery.apiVersions(this.address));
        return true;
      case '/apis':
        if (aggregated) sendAggregated(res, discovery.aggregatedDiscovery(this.gvs, false));
        else sendJson(res, 200, discovery.apiGroupList(this.gvs));
        return true;
      case '/openapi/v2':
        sendRaw(res, 200, this.openapi.v2);
        return true;
      case '/openapi/v3':
        sendJson(res, 200, this.openapi.index);
        return true;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.openapi.byGroupVersion.get(path.slice('/openapi/v3/'.length));
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
      const doc = discovery.apiGroupDoc(parts[1] ?? '', this.gvs);
      if (doc === undefined)
        throw new ApiError('NotFound', `the server could not find the requested resource`);
      sendJson(res, 200, doc);
      return true;
    }
    return false;
  }

  private sendResourceList(res: ServerResponse, group: string, version: string): boolean {
    if (this.subresources.some((s) => s.group === group && s.version === version)) {
      sendJson(res, 200, subresourceList(group, version, this.subresources));
      return true;
    }
    const gv = this.gvs.find((g) => g.group === group && g.version === version);
    if (gv === undefined) throw new ApiError('NotFound', 'the server could not find the requested resource');
    sendJson(res, 200, discovery.apiResourceList(gv));
    return true;
  }
}

function sendAggregated(res: ServerResponse, doc: unknown): void {
  const json = JSON.stringify(doc);
  res.writeHead(200, {
    'Content-Type': discovery.AGGREGATED_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(json)),
  });
  res.end(json);
}

/**
 * Browsers cannot set headers on a WebSocket: like kube-apiserver, accept the bearer token as the
 * subprotocol `base64url.bearer.authorization.k8s.io.<unpadded base64url token>` of an upgrade.
 */
const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';
function webSocketToken(req: IncomingMessage): string | undefined {
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const encoded = offered.find((p) => p.startsWith(BEARER_PROTOCOL))?.slice(BEARER_PROTOCOL.length);
  if (encoded === undefined || !/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}

function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const json = JSON.stringify(statusFor(err));
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
