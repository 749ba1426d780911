/**
 * Action subresources outside the resource store, as KubeVirt serves them under its
 * `subresources.kubevirt.io` group: `PUT …/virtualmachines/NAME/start`, `…/stop`, and the
 * WebSocket ones (`GET …/virtualmachineinstances/NAME/console`). Components register handlers;
 * the API server authenticates, routes, and turns thrown errors into Status objects.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiRequest, ApiResponse } from './http.js';

export interface SubresourceRequest {
  namespace: string;
  name: string;
  /** Path segments after the subresource name (e.g. the port of `portforward/22/tcp`). */
  args: string[];
  query: URLSearchParams;
  /** The decoded JSON body, `{}` when there is none. */
  body: Record<string, unknown>;
}

export interface UpgradeRequest {
  namespace: string;
  name: string;
  args: string[];
  query: URLSearchParams;
  /** Upgrades come over HTTP/1.1 only (HTTP/2 has no Upgrade). */
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}

export interface Subresource {
  group: string;
  version: string;
  /** Plural of the parent resource, e.g. `virtualmachines`. */
  resource: string;
  /** e.g. `start`. */
  name: string;
  /** Verbs accepted by `handle` (PUT for KubeVirt's actions). */
  verbs?: readonly string[];
  /** The parent resource is cluster-scoped: `/apis/G/V/RESOURCE/NAME/SUB`. */
  clusterScoped?: boolean;
  /** The handler reads the request body itself (uploads); `body` is then `{}`. */
  streamBody?: boolean;
  /** How many path segments may follow the subresource name (`portforward/{port}/{protocol}`: 2). */
  maxArgs?: number;
  /** Performs the action; the value returned is sent as JSON with 200, or 202 with no body when undefined. */
  handle?(request: SubresourceRequest, raw: { req: ApiRequest; res: ApiResponse }): Promise<unknown>;
  /** Takes over an HTTP upgrade (WebSocket). Errors thrown before the handshake become a Status. */
  upgrade?(request: UpgradeRequest): Promise<void>;
}

export interface SubresourceRoute {
  sub: Subresource;
  namespace: string;
  name: string;
  args: string[];
}

/** `/apis/G/V/namespaces/NS/RESOURCE/NAME/SUB` → the registered handler, or undefined. */
export function matchSubresource(path: string, subs: readonly Subresource[]): SubresourceRoute | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts[0] !== 'apis') return undefined;
  const find = (
    group?: string,
    version?: string,
    resource?: string,
    name?: string,
    cluster = false,
  ): Subresource | undefined =>
    subs.find(
      (s) =>
        (s.clusterScoped === true) === cluster &&
        s.group === group &&
        s.version === version &&
        s.resource === resource &&
        s.name === name,
    );
  if (parts.length === 6) {
    const [, group, version, resource, name = '', subName] = parts;
    const sub = find(group, version, resource, subName, true);
    return sub === undefined ? undefined : { sub, namespace: '', name, args: [] };
  }
  if (parts.length < 8 || parts[3] !== 'namespaces') return undefined;
  const [, group, version, , namespace = '', resource, name = '', subName] = parts;
  const sub = find(group, version, resource, subName);
  const args = parts.slice(8);
  if (sub === undefined || args.length > (sub.maxArgs ?? 0)) return undefined;
  return { sub, namespace, name, args };
}

/** The discovery resource list of a subresource-only group version (virtctl and kubectl look for it). */
export function subresourceList(group: string, version: string, subs: readonly Subresource[]): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${group}/${version}`,
    resources: subs
      .filter((s) => s.group === group && s.version === version)
      .map((s) => ({
        name: `${s.resource}/${s.name}`,
        singularName: '',
        namespaced: s.clusterScoped !== true,
        kind: s.resource === 'virtualmachines' ? 'VirtualMachine' : 'VirtualMachineInstance',
        verbs: s.upgrade !== undefined ? ['get'] : ['update'],
      })),
  };
}
