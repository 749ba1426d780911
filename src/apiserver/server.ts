/**
 * The Kubernetes-compatible API server: TLS, bearer-token authentication, discovery, OpenAPI,
 * and resource routes handed to resources.ts / watch.ts. Every failure leaves as a Status.
 */
import { timingSafeEqual } from 'node:crypto';
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

export interface ApiServerOptions {
  registry: Registry;
  kinds: readonly KindDefinition[];
  certs: ServingCerts;
  /** Bearer tokens accepted as the admin user. */
  tokens: readonly string[];
  watch?: Partial<WatchSettings>;
  now?: () => Date;
  /** Health of the parts behind the API, for /readyz. */
  ready?: () => boolean;
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
  private readonly tokens: Buffer[];
  private readonly watchSettings: WatchSettings;
  private readonly now: () => Date;
  private address = '127.0.0.1:6443';

  constructor(private readonly options: ApiServerOptions) {
    this.gvs = discovery.groupVersions(options.kinds);
    this.openapi = buildOpenApi(this.gvs);
    for (const def of options.kinds) this.byPath.set(`${def.group}/${def.version}/${def.plural}`, def);
    this.tokens = options.tokens.map((t) => Buffer.from(t));
    this.watchSettings = { bookmarkIntervalMs: 10_000, defaultTimeoutSeconds: 1800, ...options.watch };
    this.now = options.now ?? (() => new Date());
    this.server = createServer({ key: options.certs.key, cert: options.certs.cert }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => sendError(res, toApiError(err)));
    });
    this.server.keepAliveTimeout = 60_000;
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
    await closed;
  }

  private authenticated(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice('Bearer '.length).trim());
    return this.tokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (!PUBLIC_PATHS.has(path) && !this.authenticated(req))
      throw new ApiError('Unauthorized', 'Unauthorized');
    if (this.serveNonResource(path, req, res)) return;
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
