/**
 * Service account tokens: compact JWTs signed with HMAC-SHA256 under the platform's signing key
 * (src/platform/tokens.ts keeps it, 0600, in the pki dir). Only this server issues and checks
 * them, so a shared secret is enough and verification costs one HMAC. The claims are
 * kube-apiserver's: `sub` is the account's user name, `kubernetes.io.serviceaccount.uid` binds the
 * token to one incarnation of the account, so deleting the account revokes its tokens.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

const sign = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export function issueToken(
  key: Buffer,
  claims: Omit<ServiceAccountClaims, 'jti' | 'iat' | 'nbf'>,
  now: Date,
): string {
  const seconds = Math.floor(now.getTime() / 1000);
  const full: ServiceAccountClaims = { ...claims, iat: seconds, nbf: seconds, jti: randomUUID() };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(full)).toString('base64url')}`;
  return `${body}.${sign(key, body).toString('base64url')}`;
}

/** Looks like one of ours: three base64url parts (admin tokens never contain a dot). */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

/** The claims of a token signed by `key`, unexpired at `now` and meant for `audience`; else undefined. */
export function verifyToken(
  key: Buffer,
  token: string,
  audience: string,
  now: Date,
): ServiceAccountClaims | undefined {
  const [header, payload, signature] = token.split('.');
  if (header !== HEADER || payload === undefined || signature === undefined) return undefined;
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(key, `${header}.${payload}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: ServiceAccountClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ServiceAccountClaims;
  } catch {
    return undefined;
  }
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== 'number' || seconds >= claims.exp || seconds < claims.nbf - 60) return undefined;
  if (!Array.isArray(claims.aud) || !claims.aud.includes(audience)) return undefined;
  const sa = claims['kubernetes.io']?.serviceaccount;
  if (typeof sa?.uid !== 'string' || typeof claims['kubernetes.io'].namespace !== 'string') return undefined;
  return claims;
}
