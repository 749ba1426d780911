/**
 * A BackupStrategy's S3 endpoint is a URL the platform connects to, so it obeys the outbound
 * address policy of imports (src/network/outbound.ts): loopback, private, link-local and reserved
 * addresses are refused unless the admin allowed private targets (`hikube up
 * --allow-private-targets`). Without this, whoever may edit a strategy could point the platform at
 * the host's loopback services and read their answers back through the job's error messages.
 * The check is made on every address the endpoint's name resolves to, before each run opens it,
 * so a refused endpoint fails the job before a point is taken; the S3 client then checks every
 * connection again (src/backup/s3-target.ts), for a name that resolves elsewhere by then.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { checkTarget, TargetNotAllowed, type OutboundPolicy } from '../../network/outbound.js';

/** The addresses a host name resolves to (a port, so tests can answer without DNS). */
export type Resolve = (host: string) => Promise<string[]>;

export const resolveAll: Resolve = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** Why the endpoint may not be used, or undefined when it may. */
export async function endpointRefusal(
  policy: OutboundPolicy,
  endpoint: string,
  resolve: Resolve = resolveAll,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `endpoint ${JSON.stringify(endpoint)} is not a URL`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : await resolve(host);
  } catch (err) {
    return `endpoint ${endpoint}: cannot resolve ${host}: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (addresses.length === 0) return `endpoint ${endpoint}: ${host} resolves to no address`;
  for (const address of addresses)
    try {
      checkTarget(policy, address);
    } catch (err) {
      if (err instanceof TargetNotAllowed) return `endpoint ${endpoint}: ${err.message}`;
      throw err;
    }
  return undefined;
}
