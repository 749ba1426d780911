/**
 * The authentication.k8s.io and authorization.k8s.io endpoints, answered from the authenticator
 * and authorizer rather than stored: TokenRequest (`kubectl create token`), SelfSubjectReview
 * (`kubectl auth whoami`), SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth
 * can-i [--list]`, the console's enabled-or-why-not), SubjectAccessReview and
 * LocalSubjectAccessReview (an admin asking about someone else). Bad bodies get one cause per
 * bad field.
 */
import type { FieldError } from '../../api/kind.js';
import { serviceAccountKind } from '../../api/core/serviceaccount.js';
import { ApiError, invalid } from '../errors.js';
import type { Registry } from '../registry.js';
import type { RequestAttributes } from './attributes.js';
import type { Authorizer } from './authorizer.js';
import { API_AUDIENCE, ISSUER } from './authenticate.js';
import { issueToken } from './jwt.js';
import type { UserInfo } from './user.js';

export interface ReviewContext {
  user: UserInfo;
  authorizer: Authorizer;
  registry: Registry;
  signingKey: Buffer | undefined;
  now: () => Date;
}

/** Default and bounds of a token's lifetime, as kube-apiserver's (minimum 10 minutes). */
export const DEFAULT_TOKEN_SECONDS = 3600;
const MIN_TOKEN_SECONDS = 600;
const MAX_TOKEN_SECONDS = 365 * 24 * 3600;

const AUTHZ = 'authorization.k8s.io';
const AUTHN = 'authentication.k8s.io';

/** Answers a POST to one of these endpoints; undefined when `a` is none of them. */
export function review(
  a: RequestAttributes,
  method: string,
  body: Record<string, unknown>,
  ctx: ReviewContext,
): { code: number; object: unknown } | undefined {
  if (method !== 'POST' || !a.resourceRequest || (a.name !== '' && a.subresource !== 'token'))
    return undefined;
  const gv = `${a.apiGroup}/${a.apiVersion}`;
  if (
    a.apiGroup === '' &&
    a.resource === 'serviceaccounts' &&
    a.subresource === 'token' &&
    a.apiVersion === 'v1'
  )
    return { code: 201, object: tokenRequest(a, body, ctx) };
  if (
    a.apiGroup === AUTHN &&
    a.resource === 'selfsubjectreviews' &&
    ['v1', 'v1beta1', 'v1alpha1'].includes(a.apiVersion)
  )
    return {
      code: 201,
      object: {
        apiVersion: gv,
        kind: 'SelfSubjectReview',
        metadata: { creationTimestamp: null },
        status: { userInfo: userInfoObject(ctx.user) },
      },
    };
  if (a.apiGroup !== AUTHZ || a.apiVersion !== 'v1') return undefined;
  const spec = specOf(body);
  switch (a.resource) {
    case 'selfsubjectaccessreviews':
      return { code: 201, object: accessReview('SelfSubjectAccessReview', spec, ctx.user, '', ctx) };
    case 'localsubjectaccessreviews':
    case 'subjectaccessreviews': {
      const kind = a.resource === 'subjectaccessreviews' ? 'SubjectAccessReview' : 'LocalSubjectAccessReview';
      return { code: 201, object: accessReview(kind, spec, subjectOf(kind, spec), a.namespace, ctx) };
    }
    case 'selfsubjectrulesreviews': {
      const namespace = typeof spec['namespace'] === 'string' ? spec['namespace'] : '';
      const rules = ctx.authorizer.rulesFor(ctx.user, namespace);
      return {
        code: 201,
        object: {
          apiVersion: gv,
          kind: 'SelfSubjectRulesReview',
          metadata: { creationTimestamp: null },
          spec: { namespace },
          status: {
            resourceRules: rules
              .filter((r) => (r.nonResourceURLs ?? []).length === 0)
              .map((r) => ({
                verbs: r.verbs,
                apiGroups: r.apiGroups ?? [],
                resources: r.resources ?? [],
                ...(r.resourceNames !== undefined ? { resourceNames: r.resourceNames } : {}),
              })),
            nonResourceRules: rules
              .filter((r) => (r.nonResourceURLs ?? []).length > 0)
              .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs ?? [] })),
            incomplete: false,
          },
        },
      };
    }
  }
  return undefined;
}

function specOf(body: Record<string, unknown>): Record<string, unknown> {
  const spec = body['spec'];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new ApiError('Invalid', 'spec: Required value', {
      causes: [{ path: 'spec', message: 'Required value', reason: 'FieldValueRequired' }],
    });
  return spec as Record<string, unknown>;
}

const str = (o: Record<string, unknown>, key: string, path: string, errors: FieldError[]): string => {
  const v = o[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') {
    errors.push({
      path: `${path}.${key}`,
      message: `Invalid value: ${JSON.stringify(v)}: must be a string`,
      reason: 'FieldValueTypeInvalid',
    });
    return '';
  }
  return v;
};

function subjectOf(kind: string, spec: Record<string, unknown>): UserInfo {
  const errors: FieldError[] = [];
  const username = str(spec, 'user', 'spec', errors);
  const groups = spec['groups'] ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))
    errors.push({
      path: 'spec.groups',
      message: 'Invalid value: must be a list of strings',
      reason: 'FieldValueTypeInvalid',
    });
  else if (username === '' && groups.length === 0)
    errors.push({
      path: 'spec.user',
      message: 'Invalid value: "": at least one of user or group must be specified',
      reason: 'FieldValueRequired',
    });
  if (errors.length > 0) throw invalid(kind, AUTHZ, '', errors);
  return { username, groups: groups as string[] };
}

function accessReview(
  kind: string,
  spec: Record<string, unknown>,
  user: UserInfo,
  namespace: string,
  ctx: ReviewContext,
): unknown {
  const errors: FieldError[] = [];
  const ra = spec['resourceAttributes'];
  const na = spec['nonResourceAttributes'];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(ra) === isObj(na))
    errors.push({
      path: 'spec.resourceAttributes',
      message: 'Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    });
  let attrs: RequestAttributes | undefined;
  if (isObj(ra)) {
    const p = 'spec.resourceAttributes';
    const ns = str(ra, 'namespace', p, errors);
    if (namespace !== '' && ns !== '' && ns !== namespace)
      errors.push({
        path: `${p}.namespace`,
        message: `Invalid value: ${JSON.stringify(ns)}: must match the namespace of the request, ${JSON.stringify(namespace)}`,
      });
    attrs = {
      resourceRequest: true,
      namespace: namespace !== '' ? namespace : ns,
      verb: str(ra, 'verb', p, errors),
      apiGroup: str(ra, 'group', p, errors),
      apiVersion: str(ra, 'version', p, errors),
      resource: str(ra, 'resource', p, errors),
      subresource: str(ra, 'subresource', p, errors),
      name: str(ra, 'name', p, errors),
      path: '',
    };
  } else if (isObj(na)) {
    const p = 'spec.nonResourceAttributes';
    attrs = {
      resourceRequest: false,
      namespace: '',
      verb: str(na, 'verb', p, errors),
      apiGroup: '',
      apiVersion: '',
      resource: '',
      subresource: '',
      name: '',
      path: str(na, 'path', p, errors),
    };
  }
  if (errors.length > 0 || attrs === undefined) throw invalid(kind, AUTHZ, '', errors);
  const decision = ctx.authorizer.authorize({ ...attrs, user });
  return {
    apiVersion: `${AUTHZ}/v1`,
    kind,
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed: decision.allowed, ...(decision.reason !== '' ? { reason: decision.reason } : {}) },
  };
}

function tokenRequest(a: RequestAttributes, body: Record<string, unknown>, ctx: ReviewContext): unknown {
  if (ctx.signingKey === undefined)
    throw new ApiError('NotFound', 'service account tokens are not issued by this server');
  const spec =
    typeof body['spec'] === 'object' && body['spec'] !== null
      ? (body['spec'] as Record<string, unknown>)
      : {};
  const errors: FieldError[] = [];
  const seconds = spec['expirationSeconds'] ?? DEFAULT_TOKEN_SECONDS;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds))
    errors.push({
      path: 'spec.expirationSeconds',
      message: `Invalid value: ${JSON.stringify(seconds)}: must be an integer`,
      reason: 'FieldValueTypeInvalid',
    });
  else if (seconds < MIN_TOKEN_SECONDS)
    errors.push({
      path: 'spec.expirationSeconds',
      message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
    });
  else if (seconds > MAX_TOKEN_SECONDS)
    errors.push({
      path: 'spec.expirationSeconds',
      message: `Invalid value: ${seconds}: may not specify a duration greater than ${MAX_TOKEN_SECONDS} seconds (one year)`,
    });
  const audiences = spec['audiences'] ?? [];
  if (!Array.isArray(audiences) || audiences.some((x) => typeof x !== 'string' || x === ''))
    errors.push({
      path: 'spec.audiences',
      message: 'Invalid value: must be a list of non-empty strings',
      reason: 'FieldValueTypeInvalid',
    });
  if (errors.length > 0) throw invalid('TokenRequest', AUTHN, a.name, errors);
  const sa = ctx.registry.get(serviceAccountKind, a.namespace, a.name).object;
  const uid = sa.metadata.uid ?? '';
  const now = ctx.now();
  const aud = (audiences as string[]).length > 0 ? (audiences as string[]) : [API_AUDIENCE];
  const exp = Math.floor(now.getTime() / 1000) + (seconds as number);
  const token = issueToken(
    ctx.signingKey,
    {
      iss: ISSUER,
      sub: `system:serviceaccount:${a.namespace}:${a.name}`,
      aud,
      exp,
      'kubernetes.io': { namespace: a.namespace, serviceaccount: { name: a.name, uid } },
    },
    now,
  );
  return {
    apiVersion: `${AUTHN}/v1`,
    kind: 'TokenRequest',
    metadata: {
      name: a.name,
      namespace: a.namespace,
      creationTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    },
    spec: { audiences: aud, expirationSeconds: seconds, boundObjectRef: null },
    status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
  };
}

function userInfoObject(u: UserInfo): Record<string, unknown> {
  return {
    username: u.username,
    ...(u.uid !== undefined ? { uid: u.uid } : {}),
    groups: u.groups,
    ...(u.extra !== undefined ? { extra: u.extra } : {}),
  };
}

/** Whether a POST is for one of the endpoints `review` answers (read before its body is). */
export function isReviewPath(a: RequestAttributes): boolean {
  if (!a.resourceRequest) return false;
  if (a.apiGroup === '') return a.resource === 'serviceaccounts' && a.subresource === 'token';
  return (
    (a.apiGroup === AUTHZ && a.resource.endsWith('reviews')) ||
    (a.apiGroup === AUTHN && a.resource === 'selfsubjectreviews')
  );
}
