/**
 * `hikube audit [--since D] [--user U] [-o table|json|yaml]`: reads the audit log the API server
 * keeps in the data dir (audit.log and its rotated predecessors, oldest first) on this machine,
 * so it works with the platform stopped. `--since` takes a duration back from now (`1h`, `7d`) or
 * an instant (RFC 3339).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { AuditEvent } from '../apiserver/auth/audit.js';
import { parseDuration, parseInstant } from '../metrics/time.js';
import { dataPaths, defaultDataDir } from '../platform/paths.js';
import { UsageError } from './errors.js';
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
      output: { type: 'string', short: 'o', default: 'table' },
    },
  });
  const format = values.output;
  if (format !== 'table' && format !== 'json' && format !== 'yaml')
    throw new UsageError(`unknown output format ${JSON.stringify(format)}: use table|json|yaml`);
  const since = sinceOf(values.since, Date.now());
  const path = dataPaths(values['data-dir'] ?? defaultDataDir()).audit;
  const events = (await readAuditLog(path)).filter(
    (e) =>
      (values.user === undefined || e.user.username === values.user) &&
      (since === undefined || Date.parse(e.requestReceivedTimestamp) >= since),
  );
  if (format !== 'table') {
    const list = { apiVersion: 'audit.k8s.io/v1', kind: 'EventList', metadata: {}, items: events };
    process.stdout.write(
      `${format === 'json' ? JSON.stringify(list, null, 2) : stringify(list).trimEnd()}\n`,
    );
    return;
  }
  const columns = ['Time', 'User', 'Verb', 'Resource', 'Namespace', 'Name', 'Code'].map((name) => ({
    name,
    priority: 0,
  }));
  const rows = events.map((e) => {
    const ref = e.objectRef;
    const resource =
      ref === undefined
        ? new URL(e.requestURI, 'https://x').pathname
        : `${ref.resource}${ref.subresource !== undefined ? `/${ref.subresource}` : ''}${ref.apiGroup !== undefined ? `.${ref.apiGroup}` : ''}`;
    return {
      cells: [
        e.requestReceivedTimestamp.replace(/\.\d+Z$/, 'Z'),
        e.user.username,
        e.verb,
        resource,
        ref?.namespace ?? '',
        ref?.name ?? '',
        e.responseStatus.code,
      ],
    };
  });
  process.stdout.write(`${renderTable({ columnDefinitions: columns, rows }, false, false)}\n`);
}
