/**
 * Turns a request's credential into a user. Three kinds of bearer token: the admin token (the
 * kubeconfig `hikube up` writes: system:masters), the metrics scrape token (only GET /metrics),
 * and service account tokens issued by TokenRequest, checked by signature, expiry, audience and
 * the account still existing with the uid the token was issued for. Before them, an x509 client
 * certificate signed by the platform's CA (client-certs.ts). Anything else: no user (401).
 */
import type { ApiRequest } from '../http.js';
import { certificateUser } from './client-certs.js';
import { bearerToken, tokenDigest, TOKEN_PATTERN, TokenSet } from '../bearer.js';
import { looksLikeJwt, verifyToken, type ServiceAccountClaims } from './jwt.js';
import type { PolicyIndex } from './policy-index.js';
import { ADMIN_USER, serviceAccountUserInfo, type UserInfo } from './user.js';

/** The audience of tokens meant for this API server (TokenRequest's default). */
export const API_AUDIENCE = 'https://hikube.local';
export const ISSUER = 'https://hikube.local';

const VERIFIED_CACHE_SIZE = 10_000;

export type Identity = { kind: 'user'; user: UserInfo } | { kind: 'scraper' };

export interface AuthenticatorOptions {
  adminTokens: readonly string[];
  scrapeTokens: readonly string[];
  /** Signs and verifies service account tokens; without it none are accepted. */
  signingKey?: Buffer;
  index?: PolicyIndex;
  now: () => Date;
}

export class Authenticator {
  /**
   * Tokens whose signature was checked, with their claims: an HMAC costs ~60 µs, a lookup ~1.
   * Expiry and the account's uid are still checked on every request.
   */
  private readonly verified = new Map<string, ServiceAccountClaims>();
  private readonly admin: TokenSet;
  private readonly scrape: TokenSet;

  constructor(private readonly options: AuthenticatorOptions) {
    this.admin = new TokenSet(options.adminTokens);
    this.scrape = new TokenSet(options.scrapeTokens);
  }

  authenticate(req: ApiRequest): Identity | undefined {
    // As kube-apiserver's union: a verified client certificate first, then a bearer token.
    const certified = certificateUser(req);
    if (certified !== undefined && certified !== 'invalid') return { kind: 'user', user: certified };
    const token = bearerToken(req.headers.authorization) ?? webSocketToken(req);
    if (token === undefined || !TOKEN_PATTERN.test(token)) return undefined;
    // Hashed once for both sets.
    const digest = tokenDigest(token);
    if (this.admin.hasDigest(digest)) return { kind: 'user', user: ADMIN_USER };
    if (this.scrape.hasDigest(digest)) return { kind: 'scraper' };
    const user = looksLikeJwt(token) ? this.serviceAccount(token) : undefined;
    return user === undefined ? undefined : { kind: 'user', user };
  }

  private serviceAccount(token: string): UserInfo | undefined {
    const { signingKey, index } = this.options;
    if (signingKey === undefined || index === undefined) return undefined;
    const now = this.options.now();
    let claims = this.verified.get(token);
    if (claims === undefined) {
      claims = verifyToken(signingKey, token, API_AUDIENCE, now);
      if (claims === undefined) return undefined;
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
      this.verified.set(token, claims);
    } else if (now.getTime() / 1000 >= claims.exp) {
      this.verified.delete(token);
      return undefined;
    }
    const { namespace, serviceaccount } = claims['kubernetes.io'];
    if (index.serviceAccountUid(namespace, serviceaccount.name) !== serviceaccount.uid) return undefined;
    return serviceAccountUserInfo(namespace, serviceaccount.name, serviceaccount.uid);
  }
}

/**
 * Browsers cannot set headers on a WebSocket: like kube-apiserver, accept the bearer token as the
 * subprotocol `base64url.bearer.authorization.k8s.io.<unpadded base64url token>` of an upgrade.
 */
export const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';
function webSocketToken(req: ApiRequest): string | undefined {
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const encoded = offered.find((p) => p.startsWith(BEARER_PROTOCOL))?.slice(BEARER_PROTOCOL.length);
  if (encoded === undefined || !/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}
