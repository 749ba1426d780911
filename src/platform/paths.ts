/**
 * Where the platform keeps its state: `--data-dir`, else `$XDG_DATA_HOME/hikube`, else
 * `~/.local/share/hikube`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'share'), 'hikube');
}

export const dataPaths = (dir: string) => ({
  database: join(dir, 'state.db'),
  pki: join(dir, 'pki'),
  token: join(dir, 'pki', 'admin.token'),
  /** Read-only access to /metrics, for a Prometheus scrape job's bearer_token_file. */
  scrapeToken: join(dir, 'pki', 'scrape.token'),
  /** Signs service account tokens (TokenRequest). */
  signingKey: join(dir, 'pki', 'serviceaccount.key'),
  /** The audit log, JSON lines (src/apiserver/auth/audit.ts); rotated beside it as audit.log.1… */
  audit: join(dir, 'audit.log'),
  kubeconfig: join(dir, 'kubeconfig'),
});
