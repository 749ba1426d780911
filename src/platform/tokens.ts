/**
 * The bearer tokens kept in the data dir (admin, metrics scrape). A token is 32 random bytes in
 * base64url, written atomically on first start. A token file that is there but short, empty or
 * not printable (a first start on a full disk once left a 0-byte admin.token, and the server then
 * took an empty bearer as admin) stops the start: the admin decides, nothing is guessed.
 * The service account signing key (32 random bytes, HMAC-SHA256) is kept the same way, 0600.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { TOKEN_PATTERN } from '../apiserver/bearer.js';
import { writeFileAtomic } from './atomic.js';

/** Shortest token accepted from a token file (a generated one has 43 characters). */
export const MIN_TOKEN_LENGTH = 32;

export class TokenFileError extends Error {}

/** The token in `path`, generated when the file does not exist. */
export async function ensureToken(path: string): Promise<string> {
  if (!existsSync(path)) {
    const token = randomBytes(32).toString('base64url');
    await writeFileAtomic(path, `${token}\n`);
    return token;
  }
  const token = (await readFile(path, 'utf8')).trim();
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(token))
    throw new TokenFileError(
      `token file ${path} holds ${token.length < MIN_TOKEN_LENGTH ? `${token.length} characters, fewer than the ${MIN_TOKEN_LENGTH} required` : 'characters other than visible ASCII'}: refusing to start. Remove it to have a new token generated (then use the new kubeconfig), or write a token of at least ${MIN_TOKEN_LENGTH} visible characters`,
    );
  return token;
}

/** The key that signs service account tokens, in `path` (generated, 0600, when absent). */
export async function ensureSigningKey(path: string): Promise<Buffer> {
  const key = Buffer.from(await ensureToken(path), 'base64url');
  if (key.length < 32)
    throw new TokenFileError(
      `signing key ${path} holds ${key.length} bytes, fewer than 32: refusing to start. Remove it to have a new key generated (tokens issued with the old one stop working)`,
    );
  return key;
}
