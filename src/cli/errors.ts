/**
 * How the CLI reports a failure: the Status message, then one line per cause.
 */
import { KubeApiError } from '../client/kube.js';

export class UsageError extends Error {}

export function describeError(err: unknown): string {
  if (err instanceof KubeApiError && err.status !== undefined) {
    const lines = [`Error from server (${err.status.reason}): ${err.status.message}`];
    for (const c of err.status.details?.causes ?? []) lines.push(`  ${c.field ?? ''}: ${c.message}`);
    return lines.join('\n');
  }
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
