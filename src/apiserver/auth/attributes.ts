/**
 * What a request asks to do, in the terms RBAC rules are written in, read from the path alone as
 * kube-apiserver's RequestInfo does: so resources served outside the store (KubeVirt's
 * subresources, the metrics API, token requests) are authorized by the same rules as the rest,
 * and a path the router would refuse is still checked first. The 403 message is kube-apiserver's.
 */
import type { UserInfo } from './user.js';

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** A resource path (/api, /apis/GROUP/VERSION/…) rather than a non-resource URL. */
  resourceRequest: boolean;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  path: string;
}

export type RequestAttributes = Omit<Attributes, 'user'>;

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const collectionVerb: Record<string, string> = {
  GET: 'list',
  HEAD: 'list',
  POST: 'create',
  DELETE: 'deletecollection',
};
const itemVerb: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

export function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes {
  const parts = path.split('/').filter((p) => p !== '');
  const nonResource: RequestAttributes = {
    verb: method === 'HEAD' ? 'get' : method.toLowerCase(),
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
    path,
  };
  let rest: string[];
  let apiGroup = '';
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    apiVersion = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1] ?? '';
    apiVersion = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return nonResource;
  }
  rest = rest.map((p) => safeDecode(p));
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] ?? '';
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  let name = rest[1] ?? '';
  const subresource = rest[2] ?? '';
  let verb = (name === '' ? collectionVerb : itemVerb)[method] ?? method.toLowerCase();
  if (name === '' && (verb === 'list' || verb === 'deletecollection' || verb === 'create')) {
    if (verb === 'list' && ['true', '1'].includes(query.get('watch') ?? '')) verb = 'watch';
    // A list or watch of one name (fieldSelector metadata.name=X) is checked against that name.
    if (verb !== 'create')
      name = /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '')?.[1] ?? '';
  }
  return {
    verb,
    resourceRequest: true,
    namespace,
    apiGroup,
    apiVersion,
    resource: rest[0] ?? '',
    subresource,
    name,
    path,
  };
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** kube-apiserver's words for a denial. */
export function forbiddenMessage(a: Attributes, reason = ''): string {
  const who = `User ${JSON.stringify(a.user.username)}`;
  const why = reason === '' ? '' : `: ${reason}`;
  if (!a.resourceRequest) return `forbidden: ${who} cannot ${a.verb} path ${JSON.stringify(a.path)}${why}`;
  const resource = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  const what = a.apiGroup === '' ? a.resource : `${a.resource}.${a.apiGroup}`;
  const subject = a.name === '' ? what : `${what} ${JSON.stringify(a.name)}`;
  const scope =
    a.namespace === '' ? 'at the cluster scope' : `in the namespace ${JSON.stringify(a.namespace)}`;
  return `${subject} is forbidden: ${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${scope}${why}`;
}
