/**
 * A small Kubernetes REST client for the CLI (and later the console's server side). It loads the
 * kubeconfig with @kubernetes/client-node, so every auth method a real cluster uses works, and
 * resolves names like `vm` through discovery, exactly as kubectl does: no private shortcut.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { Status } from '../api/meta.js';

export interface ApiResource {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
}

export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: Status | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface Response {
  code: number;
  body: string;
  warnings: string[];
}

export class KubeClient {
  private resources: ApiResource[] | undefined;

  private constructor(
    private readonly config: KubeConfig,
    readonly server: string,
    readonly namespace: string,
  ) {}

  /** `--kubeconfig`, then `$KUBECONFIG`, then the data dir's kubeconfig. */
  static load(explicit: string | undefined, fallback: string): KubeClient {
    const config = new KubeConfig();
    const env = process.env['KUBECONFIG'];
    config.loadFromFile(
      explicit ?? (env !== undefined && env !== '' ? (env.split(':')[0] ?? fallback) : fallback),
    );
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    const context = config.getContextObject(config.getCurrentContext());
    return new KubeClient(config, cluster.server, context?.namespace ?? 'default');
  }

  /** The current cluster's CA certificate (PEM), to hand out kubeconfigs for the same server. */
  caCertificate(): string | undefined {
    const cluster = this.config.getCurrentCluster();
    if (cluster?.caData !== undefined && cluster.caData !== '')
      return Buffer.from(cluster.caData, 'base64').toString('utf8');
    return cluster?.caFile !== undefined && cluster.caFile !== ''
      ? readFileSync(cluster.caFile, 'utf8')
      : undefined;
  }

  /** Inside a pod: the service account's token and CA, and the API server from the environment. */
  static inCluster(): KubeClient {
    const config = new KubeConfig();
    config.loadFromCluster();
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error('no in-cluster configuration (KUBERNETES_SERVICE_HOST unset)');
    return new KubeClient(config, cluster.server, 'default');
  }

  /** CA, client certificate and credentials for connections made outside request() (WebSockets). */
  async connectionOptions(): Promise<RequestOptions> {
    const options: RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    return options;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(path, this.server);
    const options: RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
    await this.config.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined) {
      (options.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
      (options.headers as Record<string, string>)['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const warningHeader: string | string[] | undefined = res.headers['warning'];
          const warnings = (
            Array.isArray(warningHeader) ? warningHeader : warningHeader === undefined ? [] : [warningHeader]
          ).map((w: string) => w.replace(/^299 - "?|"?$/g, ''));
          resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), warnings });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request(), but a non-2xx answer becomes a KubeApiError carrying the server's Status. */
  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ value: T; warnings: string[] }> {
    const res = await this.request(method, path, body, headers);
    if (res.code < 200 || res.code > 299) {
      let status: Status | undefined;
      try {
        status = JSON.parse(res.body) as Status;
      } catch {
        status = undefined;
      }
      throw new KubeApiError(
        res.code,
        status,
        status?.message ?? `the server answered ${res.code}: ${res.body.slice(0, 200)}`,
      );
    }
    return { value: (res.body === '' ? undefined : JSON.parse(res.body)) as T, warnings: res.warnings };
  }

  async discover(): Promise<ApiResource[]> {
    if (this.resources !== undefined) return this.resources;
    const found: ApiResource[] = [];
    const collect = (
      group: string,
      version: string,
      list: {
        resources: {
          name: string;
          singularName: string;
          kind: string;
          namespaced: boolean;
          shortNames?: string[];
        }[];
      },
    ): void => {
      for (const r of list.resources) {
        if (r.name.includes('/')) continue;
        found.push({
          group,
          version,
          plural: r.name,
          singular: r.singularName,
          kind: r.kind,
          namespaced: r.namespaced,
          shortNames: r.shortNames ?? [],
        });
      }
    };
    const core = await this.call<{ versions: string[] }>('GET', '/api');
    for (const v of core.value.versions)
      collect('', v, (await this.call<Parameters<typeof collect>[2]>('GET', `/api/${v}`)).value);
    const groups = await this.call<{ groups: { name: string; preferredVersion: { version: string } }[] }>(
      'GET',
      '/apis',
    );
    for (const g of groups.value.groups) {
      const v = g.preferredVersion.version;
      collect(
        g.name,
        v,
        (await this.call<Parameters<typeof collect>[2]>('GET', `/apis/${g.name}/${v}`)).value,
      );
    }
    return (this.resources = found);
  }

  /** `vm`, `vms`, `virtualmachine`, `VirtualMachine`, `virtualmachines.kubevirt.io` → the resource. */
  async resolve(name: string): Promise<ApiResource> {
    const [base = '', ...groupParts] = name.split('.');
    const group = groupParts.join('.');
    const lower = base.toLowerCase();
    const match = (await this.discover()).find(
      (r) =>
        (group === '' || r.group === group) &&
        (r.plural === lower ||
          r.singular === lower ||
          r.kind.toLowerCase() === lower ||
          r.shortNames.includes(lower)),
    );
    if (match === undefined) throw new Error(`the server doesn't have a resource type "${name}"`);
    return match;
  }

  async resolveKind(apiVersion: string, kind: string): Promise<ApiResource> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const match = (await this.discover()).find(
      (r) => r.group === group && r.version === version && r.kind === kind,
    );
    if (match === undefined) throw new Error(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return match;
  }
}

export function resourcePath(r: ApiResource, namespace: string | undefined, name?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}
