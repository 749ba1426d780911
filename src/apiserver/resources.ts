/**
 * HTTP handlers for resource paths: get, list, create, update, patch, delete, deletecollection.
 * Watches live in watch.ts. Everything here parses the request into Registry calls and renders
 * the result (plain object, list, or Table); API rules live in the Registry.
 */
import type { KindDefinition } from '../api/kind.js';
import { apiVersionOf } from '../api/kind.js';
import type { KubeObject } from '../api/meta.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';
import { upperBound } from '../store/ordered.js';
import type { StoredObject } from '../store/store.js';
import { ApiError, toApiError } from './errors.js';
import { noteCreated } from './auth/audit.js';
import { decodeBody, readBody, sendJson, sendRaw, type ApiRequest, type ApiResponse } from './http.js';
import type { ResourceRoute } from './paths.js';
import { queryBool } from './query.js';
import { applyPatch, isPatchType } from './patch/apply.js';
import type { DeleteOptions, Propagation, Registry, WriteOptions } from './registry.js';
import { renderTable, type IncludeObject } from './tables.js';
import type { VersionConverter } from './conversion.js';
import { handleScale } from './scale.js';

export interface RequestContext {
  req: ApiRequest;
  res: ApiResponse;
  route: ResourceRoute;
  query: URLSearchParams;
  registry: Registry;
  now: () => Date;
  /** Set when the request names an older version of the kind (conversion.ts). */
  convert?: VersionConverter;
  /** Whether the user may still make this request (a watch asks before each event). */
  stillAllowed?: () => boolean;
  /** Checks an object about to be written against what its writer holds (RBAC escalation). */
  guard?: WriteOptions['guard'];
}

export const wantsTable = (req: ApiRequest): boolean => (req.headers.accept ?? '').includes('as=Table');

export const includeObjectOf = (query: URLSearchParams): IncludeObject => {
  const v = query.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
};

function writeOptions(
  query: URLSearchParams,
  subresource: string | undefined,
  guard?: WriteOptions['guard'],
): WriteOptions {
  const fv = query.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw new ApiError(
      'BadRequest',
      `fieldValidation must be one of Strict, Warn or Ignore, not ${JSON.stringify(fv)}`,
    );
  }
  if (subresource !== undefined && subresource !== 'status')
    throw new ApiError(
      'NotFound',
      `the server could not find the requested subresource ${JSON.stringify(subresource)}`,
    );
  return {
    fieldValidation: fv,
    dryRun: query.getAll('dryRun').includes('All'),
    ...(subresource === 'status' ? { subresource } : {}),
    ...(guard !== undefined ? { guard } : {}),
  };
}

export async function handleResource(ctx: RequestContext): Promise<void> {
  const { req, route } = ctx;
  const method = req.method ?? 'GET';
  if (route.subresource === 'scale' && route.def.scaleSubresource === true && route.name !== undefined)
    return handleScale(ctx);
  if (route.name === undefined) {
    if (method === 'GET') return list(ctx);
    if (method === 'POST') return create(ctx);
    if (method === 'DELETE') {
      // kube-apiserver serves deletecollection of a namespaced kind only inside one namespace.
      if (!(route.def.namespaced && route.allNamespaces)) return deleteCollection(ctx);
    }
  } else {
    if (method === 'GET') return get(ctx);
    if (method === 'PUT') return update(ctx);
    if (method === 'PATCH') return patch(ctx);
    if (method === 'DELETE') return remove(ctx);
  }
  throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
}

function respondObject(ctx: RequestContext, code: number, object: KubeObject, warnings: string[] = []): void {
  if (wantsTable(ctx.req)) {
    sendJson(
      ctx.res,
      code,
      renderTable(
        ctx.route.def,
        [object],
        object.metadata.resourceVersion ?? '',
        includeObjectOf(ctx.query),
        ctx.now(),
      ),
      warnings,
    );
  } else {
    sendJson(ctx.res, code, object, warnings);
  }
}

function get(ctx: RequestContext): void {
  const { def, namespace, name, subresource } = ctx.route;
  if (subresource !== undefined && subresource !== 'status')
    throw new ApiError('NotFound', `the server could not find the requested resource`);
  const found = ctx.registry.get(def, namespace, name ?? '');
  if (wantsTable(ctx.req)) respondObject(ctx, 200, found.object);
  else sendRaw(ctx.res, 200, found.json);
}

interface Continue {
  rv: number;
  after: string;
}

const encodeContinue = (c: Continue): string => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeContinue(token: string): Continue {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Continue;
    if (typeof c.rv === 'number' && typeof c.after === 'string' && c.after.includes('/')) return c;
  } catch {
    // fall through to the error below
  }
  throw new ApiError('BadRequest', 'continue key is not valid: the token was not issued by this server');
}

/**
 * Lists matching objects in key order; shared by list and the watch's initial state. With `after`
 * ("namespace/name", a continue token's key), only the objects after it: found by binary search in
 * the store's order before any selector runs, so each page of a paged walk does not look at the
 * pages before it.
 */
export function selectObjects(
  ctx: Pick<RequestContext, 'route' | 'query' | 'registry'>,
  after?: string,
): {
  items: StoredObject[];
  rv: number;
} {
  const { def, namespace, allNamespaces } = ctx.route;
  const labelQuery = ctx.query.get('labelSelector') ?? '';
  const fieldQuery = ctx.query.get('fieldSelector') ?? '';
  const labels = parseLabelSelector(labelQuery);
  const fields = parseFieldSelector(fieldQuery);
  const listed = ctx.registry.store.list(
    resourceKeyOf(def),
    allNamespaces ? undefined : def.namespaced ? namespace : '',
  );
  const rv = listed.rv;
  let items = listed.items;
  if (after !== undefined) {
    // namespaces hold no '/', so the first one splits the key
    const slash = after.indexOf('/');
    items = items.slice(upperBound(items, after.slice(0, slash), after.slice(slash + 1)));
  }
  if (labelQuery === '' && fieldQuery === '') return { items, rv };
  return {
    items: items.filter((o) => labels.matches(o.object.metadata.labels) && fields.matches(o.object)),
    rv,
  };
}

const resourceKeyOf = (def: KindDefinition): string => `${def.group}/${def.plural}`;

function list(ctx: RequestContext): void {
  if (queryBool(ctx.query, 'watch')) throw new Error('watch is routed before list');
  const { def } = ctx.route;
  const token = ctx.query.get('continue');
  const c = token !== null && token !== '' ? decodeContinue(token) : undefined;
  let { items, rv } = selectObjects(ctx, c?.after);
  if (c !== undefined) rv = c.rv;
  const limit = Number(ctx.query.get('limit') ?? '0');
  const listMeta: Record<string, unknown> = {};
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    listMeta['continue'] = encodeContinue({ rv, after: `${last?.namespace ?? ''}/${last?.name ?? ''}` });
    listMeta['remainingItemCount'] = items.length - limit;
    items = items.slice(0, limit);
  }
  if (wantsTable(ctx.req)) {
    const table = renderTable(
      def,
      items.map((o) => o.object),
      String(rv),
      includeObjectOf(ctx.query),
      ctx.now(),
      listMeta,
    );
    sendJson(ctx.res, 200, table);
    return;
  }
  const meta = JSON.stringify({ resourceVersion: String(rv), ...listMeta });
  const json = `{"apiVersion":${JSON.stringify(apiVersionOf(def))},"kind":"${def.kind}List","metadata":${meta},"items":[${items.map((o) => o.json).join(',')}]}`;
  sendRaw(ctx.res, 200, json);
}

async function body(ctx: RequestContext): Promise<unknown> {
  const decoded = decodeBody(await readBody(ctx.req), ctx.req.headers['content-type']);
  return ctx.convert === undefined ? decoded : ctx.convert.toStorage(decoded);
}

async function create(ctx: RequestContext): Promise<void> {
  const { def, namespace, allNamespaces } = ctx.route;
  if (def.namespaced && allNamespaces) {
    throw new ApiError(
      'MethodNotAllowed',
      `${def.plural} must be created in a namespace: POST /…/namespaces/NAMESPACE/${def.plural}`,
    );
  }
  const input = await body(ctx);
  // Audited under the name asked for, even when refused; a generated one once it exists.
  const asked = (input as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof asked === 'string') noteCreated(ctx.res, asked);
  const { object, warnings } = ctx.registry.create(
    def,
    namespace,
    input,
    writeOptions(ctx.query, undefined, ctx.guard),
  );
  noteCreated(ctx.res, object.metadata.name ?? '');
  respondObject(ctx, 201, object, warnings);
}

async function update(ctx: RequestContext): Promise<void> {
  const { def, namespace, name, subresource } = ctx.route;
  const input = await body(ctx);
  const { object, warnings } = ctx.registry.update(
    def,
    namespace,
    name ?? '',
    input,
    writeOptions(ctx.query, subresource, ctx.guard),
  );
  respondObject(ctx, 200, object, warnings);
}

async function patch(ctx: RequestContext): Promise<void> {
  const { def, namespace, name, subresource } = ctx.route;
  const contentType = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (!isPatchType(contentType)) {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
    );
  }
  if (def.custom === true && contentType === 'application/strategic-merge-patch+json')
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
    );
  const decoded = decodeBody(await readBody(ctx.req), contentType);
  const patchBody = ctx.convert === undefined ? decoded : ctx.convert.toStorage(decoded);
  const options = writeOptions(ctx.query, subresource, ctx.guard);
  let current: StoredObject;
  try {
    current = ctx.registry.get(def, namespace, name ?? '');
  } catch (err) {
    // Server-side apply creates what does not exist yet.
    if (contentType === 'application/apply-patch+yaml' && toApiError(err).reason === 'NotFound') {
      const created = ctx.registry.create(def, namespace, patchBody, options);
      noteCreated(ctx.res, created.object.metadata.name ?? '');
      respondObject(ctx, 201, created.object, created.warnings);
      return;
    }
    throw err;
  }
  const patched = applyPatch(contentType, current.object, patchBody, def.schema);
  if (!isPlainObject(patched))
    throw new ApiError('Invalid', `the patched ${def.kind} must be an object, not ${describeJson(patched)}`);
  const meta = patched['metadata'] ?? {};
  // A patch that does not name a resourceVersion applies to the version it was computed on.
  if (
    isPlainObject(meta) &&
    (meta['resourceVersion'] === undefined || contentType === 'application/apply-patch+yaml')
  )
    meta['resourceVersion'] = String(current.rv);
  const { object, warnings } = ctx.registry.update(def, namespace, name ?? '', patched, options);
  respondObject(ctx, 200, object, warnings);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const describeJson = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

async function deleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const raw = await readBody(ctx.req);
  const decoded = raw.length > 0 ? decodeBody(raw, ctx.req.headers['content-type']) : {};
  if (!isPlainObject(decoded))
    throw new ApiError(
      'BadRequest',
      `the DeleteOptions body must be an object, not ${describeJson(decoded)}`,
    );
  const fromBody = decoded;
  const policy = (ctx.query.get('propagationPolicy') ??
    fromBody['propagationPolicy'] ??
    (fromBody['orphanDependents'] === true ? 'Orphan' : undefined)) as string | undefined;
  if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw new ApiError(
      'Invalid',
      `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Background", "Foreground", "Orphan"`,
      {
        causes: [
          {
            path: 'propagationPolicy',
            reason: 'FieldValueNotSupported',
            message: `Unsupported value: ${JSON.stringify(policy)}`,
          },
        ],
      },
    );
  }
  const pre = fromBody['preconditions'] as DeleteOptions['preconditions'];
  const graceText = ctx.query.get('gracePeriodSeconds');
  const graceBody = fromBody['gracePeriodSeconds'];
  const grace =
    graceText !== null ? Number(graceText) : typeof graceBody === 'number' ? graceBody : undefined;
  if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) {
    throw new ApiError(
      'BadRequest',
      `gracePeriodSeconds must be a non-negative integer, not ${JSON.stringify(graceText ?? graceBody)}`,
    );
  }
  const dryRun =
    ctx.query.getAll('dryRun').includes('All') ||
    (Array.isArray(fromBody['dryRun']) && fromBody['dryRun'].includes('All'));
  return {
    ...(policy !== undefined ? { propagationPolicy: policy as Propagation } : {}),
    ...(pre !== undefined ? { preconditions: pre } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    dryRun,
  };
}

async function remove(ctx: RequestContext): Promise<void> {
  const { def, namespace, name } = ctx.route;
  const object = ctx.registry.delete(def, namespace, name ?? '', await deleteOptions(ctx));
  if (def.deleteReturnsStatus === true && object.metadata.deletionTimestamp === undefined) {
    sendJson(ctx.res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: object.metadata.name ?? '',
        kind: def.plural,
        uid: object.metadata.uid ?? '',
        ...(def.group !== '' ? { group: def.group } : {}),
      },
    });
    return;
  }
  sendJson(ctx.res, 200, object);
}

async function deleteCollection(ctx: RequestContext): Promise<void> {
  const { def } = ctx.route;
  const options = await deleteOptions(ctx);
  const { items, rv } = selectObjects(ctx);
  const deleted = items.map((o) => ctx.registry.delete(def, o.namespace, o.name, options));
  sendJson(ctx.res, 200, {
    apiVersion: apiVersionOf(def),
    kind: `${def.kind}List`,
    metadata: { resourceVersion: String(rv) },
    items: deleted,
  });
}
