/**
 * Bearer tokens as the API server checks them. A credential is visible ASCII only: an empty one,
 * or one of spaces or other invisible characters (`Bearer \xa0` trimmed to nothing once matched an
 * empty token file), is no credential at all. Known tokens are compared by their SHA-256 digests
 * in constant time, every one of them, so neither a token's content nor its length shows in the
 * answer's timing. A request's token is hashed once, however many sets it is checked against.
 */
import { hash, timingSafeEqual } from 'node:crypto';

/** Visible ASCII (0x21–0x7e), at least one character. */
export const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** The token of an `Authorization: Bearer TOKEN` header; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^bearer[ \t]+([^ \t]+)[ \t]*$/i.exec(header ?? '');
  return m?.[1] !== undefined && TOKEN_PATTERN.test(m[1]) ? m[1] : undefined;
}

/** The SHA-256 digest a TokenSet compares (one-shot `hash`: half the cost of a Hash object). */
export const tokenDigest = (token: string): Buffer => hash('sha256', token, 'buffer');

export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    for (const t of tokens)
      if (!TOKEN_PATTERN.test(t)) throw new Error('a bearer token must be visible ASCII, and not empty');
    this.digests = tokens.map(tokenDigest);
  }

  has(token: string | undefined): boolean {
    if (token === undefined || !TOKEN_PATTERN.test(token)) return false;
    return this.hasDigest(tokenDigest(token));
  }

  /** Whether a token whose tokenDigest is `given` is in the set. */
  hasDigest(given: Buffer): boolean {
    let found = false;
    for (const d of this.digests) found = timingSafeEqual(d, given) || found;
    return found;
  }
}
