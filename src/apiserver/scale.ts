/**
 * The `scale` subresource (autoscaling/v1 Scale) of kinds that declare it: GET reads
 * `spec.replicas`, `status.replicas` and `status.labelSelector`; PUT and PATCH (what `kubectl
 * scale` sends) change only `spec.replicas`, through the Registry like any other write.
 */
import type { KubeObject } from '../api/meta.js';
import { Obj, StringMap, Type, opt } from '../api/schema.js';
import { ApiError, invalid } from './errors.js';
import { decodeBody, readBody, sendJson } from './http.js';
import { applyPatch, isPatchType } from './patch/apply.js';
import type { RequestContext } from './resources.js';

const ScaleSchema = Obj('autoscaling/v1 Scale.', {
  apiVersion: opt(Type.String()),
  kind: opt(Type.String()),
  metadata: opt(
    Obj(
      'Metadata.',
      { name: opt(Type.String()), resourceVersion: opt(Type.String()), labels: opt(StringMap()) },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
  ),
  spec: opt(Obj('Desired.', { replicas: opt(Type.Integer()) })),
  status: opt(Obj('Observed.', { replicas: opt(Type.Integer()), selector: opt(Type.String()) })),
});

interface Replicated extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; labelSelector?: string };
}

export function scaleOf(object: KubeObject): Record<string, unknown> {
  const o = object as Replicated;
  const m = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: {
      replicas: o.status?.replicas ?? 0,
      ...(o.status?.labelSelector !== undefined ? { selector: o.status.labelSelector } : {}),
    },
  };
}

export async function handleScale(ctx: RequestContext): Promise<void> {
  const { def, namespace, name = '' } = ctx.route;
  const method = ctx.req.method ?? 'GET';
  const current = ctx.registry.get(def, namespace, name);
  if (method === 'GET') {
    sendJson(ctx.res, 200, scaleOf(current.object));
    return;
  }
  if (method !== 'PUT' && method !== 'PATCH')
    throw new ApiError('MethodNotAllowed', `${method} is not supported on ${def.plural}/scale`);
  const contentType = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const body = decodeBody(await readBody(ctx.req), ctx.req.headers['content-type']);
  let patched: unknown = body;
  if (method === 'PATCH') {
    if (!isPatchType(contentType))
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format: ${contentType}`,
      );
    patched = applyPatch(contentType, scaleOf(current.object), body, ScaleSchema);
  }
  const wanted = patched as {
    metadata?: { resourceVersion?: unknown };
    spec?: { replicas?: unknown };
  };
  const replicas = wanted.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    throw invalid('Scale', 'autoscaling', name, [
      {
        path: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be a non-negative integer`,
      },
    ]);
  const sentRv = wanted.metadata?.resourceVersion;
  const next = structuredClone(current.object) as Replicated;
  next.spec = { ...next.spec, replicas };
  next.metadata.resourceVersion = typeof sentRv === 'string' && sentRv !== '' ? sentRv : String(current.rv);
  const { object } = ctx.registry.update(def, namespace, name, next, {
    ...(ctx.query.getAll('dryRun').includes('All') ? { dryRun: true } : {}),
  });
  sendJson(ctx.res, 200, scaleOf(object));
}
