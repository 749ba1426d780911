/**
 * What `hikube audit` selects and shows, as pure functions over audit events: the API server's
 * own and the export server's downloads (src/storage/export/audit.ts), which name their export as
 * the objectRef (`virtualmachineexports.export.kubevirt.io`) and tell volume, format, bytes and
 * result in annotations. A resource is given as kubectl takes it: plural, singular, kind or short
 * name (`vmexport`), optionally followed by its group (`virtualmachineexports.export.kubevirt.io`).
 */
import type { AuditEvent } from '../apiserver/auth/audit.js';
import { kinds } from '../api/registry.js';
import type { Table } from './output.js';

export interface AuditFilter {
  /** Epoch milliseconds: events received at or after it. */
  since?: number;
  user?: string;
  verb?: string;
  resource?: string;
  namespace?: string;
}

type ObjectRef = NonNullable<AuditEvent['objectRef']>;

/** Whether an event's objectRef is the resource `text` names. */
function resourceMatcher(text: string): (ref: ObjectRef | undefined) => boolean {
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const known = kinds
    .filter(
      (k) =>
        (group === undefined || k.group === group) &&
        (k.plural === name ||
          k.singular === name ||
          k.kind.toLowerCase() === name ||
          (k.shortNames ?? []).includes(name)),
    )
    .map((k) => `${k.plural}.${k.group}`);
  return (ref) => {
    if (ref === undefined) return false;
    const refGroup = ref.apiGroup ?? '';
    if (known.includes(`${ref.resource}.${refGroup}`)) return true;
    // A resource outside the kinds table (a review, a discovery document): its plural, as logged.
    return ref.resource === name && (group === undefined || refGroup === group);
  };
}

/** The events `f` selects. */
export function auditMatcher(f: AuditFilter): (e: AuditEvent) => boolean {
  const resource = f.resource === undefined ? undefined : resourceMatcher(f.resource);
  return (e) =>
    (f.user === undefined || e.user.username === f.user) &&
    (f.verb === undefined || e.verb === f.verb) &&
    (f.namespace === undefined || e.objectRef?.namespace === f.namespace) &&
    (resource === undefined || resource(e.objectRef)) &&
    (f.since === undefined || Date.parse(e.requestReceivedTimestamp) >= f.since);
}

/** What an export download did (volume, format, bytes, result), or the authorization decision. */
function detailOf(e: AuditEvent): string {
  const a = e.annotations ?? {};
  const result = a['export.hikube.io/result'];
  if (result === undefined) return a['authorization.k8s.io/decision'] ?? '';
  const volume = a['export.hikube.io/volume'];
  const manifest = a['export.hikube.io/manifest'];
  const what =
    volume !== undefined
      ? `volume ${volume} (${a['export.hikube.io/format'] ?? ''})`
      : manifest !== undefined
        ? `manifest ${manifest}`
        : '';
  const source = a['export.hikube.io/source'];
  return [
    what,
    source !== undefined ? `of ${source}` : '',
    `${a['export.hikube.io/bytes'] ?? '0'} bytes`,
    result,
  ]
    .filter((s) => s !== '')
    .join(', ');
}

/** The table of `hikube audit`; Source and Detail are wide columns. */
export function auditTable(events: readonly AuditEvent[]): Table {
  const columns = [
    ...['Time', 'User', 'Verb', 'Resource', 'Namespace', 'Name', 'Code'].map((name) => ({
      name,
      priority: 0,
    })),
    ...['Source', 'Detail'].map((name) => ({ name, priority: 1 })),
  ];
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
        e.sourceIPs.join(','),
        detailOf(e),
      ],
    };
  });
  return { columnDefinitions: columns, rows };
}
