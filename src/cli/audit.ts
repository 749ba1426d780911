/**
 * `hikube audit [--since D] [--user U] [--verb V] [--resource R] [--namespace NS]
 * [-o table|wide|json|yaml]`: reads the audit log the API server keeps in the data dir (audit.log
 * and its rotated predecessors, oldest first) on this machine, so it works with the platform
 * stopped. `--since` takes a duration back from now (`1h`, `7d`) or an instant (RFC 3339). The
 * log holds the export server's downloads too: `--resource vmexport` selects them, and `-o wide`
 * shows what each sent (src/cli/audit-view.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { AuditEvent } from '../apiserver/auth/audit.js';
import { parseDuration, parseInstant } from '../metrics/time.js';
import { dataPaths, defaultDataDir } from '../platform/paths.js';
import { UsageError } from './errors.js';
import { auditMatcher, auditTable } from './audit-view.js';
import { renderTable } from './output.js';

/** Every event in the log files of `path`, oldest first; lines that do not parse are skipped. */
export async function readAuditLog(path: string): Promise<AuditEvent[]> {
  const files: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) files.unshift(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  const events: AuditEvent[] = [];
  for (const f of files) {
    for (const line of (await readFile(f, 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      try {
        events.push(JSON.parse(line) as AuditEvent);
      } catch {
        // A line cut by a crash mid-write: the rest of the log still reads.
      }
    }
  }
  return events;
}

function sinceOf(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const back = parseDuration(text);
  if (back !== undefined) return now - back;
  const at = parseInstant(text, now) ?? Date.parse(text);
  if (!Number.isFinite(at))
    throw new UsageError(
      `--since ${JSON.stringify(text)} is neither a duration (1h, 7d) nor a time (RFC 3339)`,
    );
  return at;
}

export async function runAudit(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      since: { type: 'string' },
      user: { type: 'string' },
      verb: { type: 'string' },
      resource: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  });
  const format = values.output;
  if (format !== 'table' && format !== 'wide' && format !== 'json' && format !== 'yaml')
    throw new UsageError(`unknown output format ${JSON.stringify(format)}: use table|wide|json|yaml`);
  const since = sinceOf(values.since, Date.now());
  const path = dataPaths(values['data-dir'] ?? defaultDataDir()).audit;
  const events = (await readAuditLog(path)).filter(
    auditMatcher({
      ...(since !== undefined ? { since } : {}),
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values.verb !== undefined ? { verb: values.verb } : {}),
      ...(values.resource !== undefined ? { resource: values.resource } : {}),
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    }),
  );
  if (format === 'json' || format === 'yaml') {
    const list = { apiVersion: 'audit.k8s.io/v1', kind: 'EventList', metadata: {}, items: events };
    process.stdout.write(
      `${format === 'json' ? JSON.stringify(list, null, 2) : stringify(list).trimEnd()}\n`,
    );
    return;
  }
  process.stdout.write(`${renderTable(auditTable(events), format === 'wide', false)}\n`);
}
