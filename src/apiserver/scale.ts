/**
 * The `scale` subresource (autoscaling/v1 Scale) of kinds that declare it: GET reads
 * `spec.replicas`, `status.replicas` and `status.labelSelector`; PUT and PATCH (what `kubectl
 * scale` sends) change only `spec.replicas`, through the Registry like any other write.
 */
import type { KindDefinition } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import { evaluatePath } from './tables.js';
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

type ScalePaths = NonNullable<KindDefinition['scalePaths']>;

/** KubeVirt's replica sets and pools; a CRD names its own paths. */
const DEFAULT_PATHS: ScalePaths = {
  specReplicas: '.spec.replicas',
  statusReplicas: '.status.replicas',
  labelSelector: '.status.labelSelector',
};

export function scaleOf(object: KubeObject, paths: ScalePaths = DEFAULT_PATHS): Record<string, unknown> {
  const m = object.metadata;
  const spec = evaluatePath(object, paths.specReplicas);
  const status = evaluatePath(object, paths.statusReplicas);
  const selector = paths.labelSelector === undefined ? undefined : evaluatePath(object, paths.labelSelector);
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
    spec: { replicas: typeof spec === 'number' ? spec : 0 },
    status: {
      replicas: typeof status === 'number' ? status : 0,
      ...(typeof selector === 'string' ? { selector } : {}),
    },
  };
}

/** Sets `.a.b.c` in an object, creating the objects on the way. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.').slice(1);
  let at = root;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      at[key] = value;
      return;
    }
    const next = at[key];
    at =
      typeof next === 'object' && next !== null && !Array.isArray(next)
        ? (next as Record<string, unknown>)
        : (at[key] = {});
  });
}

export async function handleScale(ctx: RequestContext): Promise<void> {
  const { def, namespace, name = '' } = ctx.route;
  const method = ctx.req.method ?? 'GET';
  const current = ctx.registry.get(def, namespace, name);
  const paths = def.scalePaths ?? DEFAULT_PATHS;
  if (method === 'GET') {
    sendJson(ctx.res, 200, scaleOf(current.object, paths));
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
    patched = applyPatch(contentType, scaleOf(current.object, paths), body, ScaleSchema);
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
  const next = structuredClone(current.object);
  setPath(next, paths.specReplicas, replicas);
  next.metadata.resourceVersion = typeof sentRv === 'string' && sentRv !== '' ? sentRv : String(current.rv);
  const { object } = ctx.registry.update(def, namespace, name, next, {
    ...(ctx.query.getAll('dryRun').includes('All') ? { dryRun: true } : {}),
  });
  sendJson(ctx.res, 200, scaleOf(object, paths));
}
