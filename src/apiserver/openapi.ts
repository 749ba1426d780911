/**
 * OpenAPI documents generated from the kind schemas: v3 per group version (what kubectl apply and
 * explain read) and one v2 document, in JSON and in protobuf (what client-go asks for). Computed once at start: the kinds do not change at run time.
 */
import { createHash } from 'node:crypto';
import type { KindDefinition } from '../api/kind.js';
import { columnsOf } from './tables.js';
import type { GroupVersion } from './discovery.js';
import { encodeOpenApiV2 } from './openapi-proto.js';

export const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0+hikube' };

/** `kubevirt.io` → `io.kubevirt.v1.VirtualMachine`; core → `io.k8s.api.core.v1.ConfigMap`. */
export function definitionName(def: Pick<KindDefinition, 'group' | 'version' | 'kind'>): string {
  const prefix = def.group === '' ? 'io.k8s.api.core' : def.group.split('.').reverse().join('.');
  return `${prefix}.${def.version}.${def.kind}`;
}

const gvPath = (gv: { group: string; version: string }): string =>
  gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;

/** The schema with symbols dropped, the GVK extension and the printer columns attached. */
function publishedSchema(def: KindDefinition): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(def.schema)) as Record<string, unknown>;
  return {
    ...plain,
    description: def.description,
    'x-kubernetes-group-version-kind': [{ group: def.group, version: def.version, kind: def.kind }],
    'x-kubernetes-additional-printer-columns': columnsOf(def)
      .filter((c) => c.format !== 'name')
      .map((c) => ({ name: c.name, type: c.type, jsonPath: c.jsonPath, priority: c.priority ?? 0 })),
  };
}

interface Operation {
  method: 'get' | 'put' | 'patch' | 'delete' | 'post';
  path: string;
  def: KindDefinition;
  action: string;
}

function operations(def: KindDefinition): Operation[] {
  const base = `/${gvPath(def)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`;
  const item = `${base}/{name}`;
  const ops: Operation[] = [
    { method: 'get', path: base, def, action: 'list' },
    { method: 'post', path: base, def, action: 'post' },
    { method: 'get', path: item, def, action: 'get' },
    { method: 'put', path: item, def, action: 'put' },
    { method: 'patch', path: item, def, action: 'patch' },
    { method: 'delete', path: item, def, action: 'delete' },
  ];
  if (def.statusSubresource) {
    for (const method of ['get', 'put', 'patch'] as const)
      ops.push({ method, path: `${item}/status`, def, action: method });
  }
  return ops;
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: { type: 'string' };
}

const pathParams = (path: string): Parameter[] =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1] ?? '',
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));

const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'force'];

function v3Operation(op: Operation, ref: string): Record<string, unknown> {
  const params = [...pathParams(op.path)];
  if (op.method !== 'get' && op.method !== 'delete') {
    params.push(
      ...queryParams.map((name): Parameter => ({
        name,
        in: 'query',
        required: false,
        schema: { type: 'string' },
      })),
    );
  }
  const content = { 'application/json': { schema: { $ref: ref } } };
  return {
    operationId: `${op.action}${op.def.kind}`,
    parameters: params,
    ...(op.method === 'put' || op.method === 'post' || op.method === 'patch'
      ? {
          requestBody: {
            content:
              op.method === 'patch'
                ? { 'application/merge-patch+json': { schema: { type: 'object' } } }
                : content,
          },
        }
      : {}),
    responses: { '200': { description: 'OK', content } },
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': { group: op.def.group, version: op.def.version, kind: op.def.kind },
  };
}

export interface OpenApiDocs {
  /** The `/openapi/v3` index. */
  index: unknown;
  /** Keyed by `api/v1`, `apis/kubevirt.io/v1`, … */
  byGroupVersion: Map<string, { json: string; hash: string }>;
  v2: string;
  /** The same v2 document as gnostic protobuf (openapi-proto.ts), for client-go. */
  v2Protobuf: Buffer;
}

export function buildOpenApi(gvs: GroupVersion[]): OpenApiDocs {
  const byGroupVersion = new Map<string, { json: string; hash: string }>();
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of gvs) {
    const schemas: Record<string, unknown> = {};
    const docPaths: Record<string, Record<string, unknown>> = {};
    for (const def of gv.kinds) {
      schemas[definitionName(def)] = publishedSchema(def);
      const ref = `#/components/schemas/${definitionName(def)}`;
      for (const op of operations(def)) (docPaths[op.path] ??= {})[op.method] = v3Operation(op, ref);
    }
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Hikube VMs', version: SERVER_VERSION.gitVersion },
      paths: docPaths,
      components: { schemas },
    };
    const json = JSON.stringify(doc);
    const hash = createHash('sha512').update(json).digest('hex').slice(0, 128).toUpperCase();
    byGroupVersion.set(gvPath(gv), { json, hash });
    paths[gvPath(gv)] = { serverRelativeURL: `/openapi/v3/${gvPath(gv)}?hash=${hash}` };
  }
  const v2 = buildV2(gvs);
  return { index: { paths }, byGroupVersion, v2: JSON.stringify(v2), v2Protobuf: encodeOpenApiV2(v2) };
}

function buildV2(gvs: GroupVersion[]): Record<string, unknown> {
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of gvs.flatMap((gv) => gv.kinds)) {
    definitions[definitionName(def)] = publishedSchema(def);
    const ref = `#/definitions/${definitionName(def)}`;
    for (const op of operations(def)) {
      const params: unknown[] = pathParams(op.path).map(({ schema: _s, ...p }) => ({ ...p, type: 'string' }));
      if (op.method === 'post' || op.method === 'put' || op.method === 'patch') {
        params.push({
          name: 'body',
          in: 'body',
          required: true,
          schema: op.method === 'patch' ? { type: 'object' } : { $ref: ref },
        });
        params.push(...queryParams.map((name) => ({ name, in: 'query', type: 'string', uniqueItems: true })));
      }
      (paths[op.path] ??= {})[op.method] = {
        operationId: `${op.action}${op.def.kind}`,
        parameters: params,
        responses: { '200': { description: 'OK', schema: { $ref: ref } } },
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': {
          group: op.def.group,
          version: op.def.version,
          kind: op.def.kind,
        },
      };
    }
  }
  return {
    swagger: '2.0',
    info: { title: 'Hikube VMs', version: SERVER_VERSION.gitVersion },
    paths,
    definitions,
  };
}
