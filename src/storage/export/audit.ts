/**
 * Export downloads in the audit log. The download server is served before the API's
 * authentication (its one credential is the export's token), so the API gate never sees these
 * requests; a download hands a whole disk to whoever holds the token, so each one is recorded here,
 * in the same audit.k8s.io/v1 Event shape: who (the export's token, by a fingerprint of the token
 * that was sent, never the token), which export and source VM or claim, which volume and format,
 * how many bytes went out, and how it ended (complete, cut short, refused).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { VirtualMachineExport } from '../../api/export/export.js';
import type { AuditEvent } from '../../apiserver/auth/audit.js';
import type { ApiRequest } from '../../apiserver/http.js';
import type { ExportRequest } from './paths.js';

/** Where the events go (the platform's AuditLog). */
export interface AuditSink {
  record(event: AuditEvent): void;
}

export type DownloadResult = 'complete' | 'cut short' | 'refused';

/** What one request to the download server did, filled in as it is served. */
export interface DownloadRecord {
  received: Date;
  ask?: ExportRequest;
  /** The token sent, if any (only its fingerprint is logged). */
  token?: string;
  /** The export, once the token was accepted for it. */
  accepted?: VirtualMachineExport;
  bytes: number;
  result: DownloadResult;
}

/** A short fingerprint of a token: enough to tell tokens apart in the log, useless to download. */
export const tokenFingerprint = (token: string): string =>
  createHash('sha256').update(token).digest('hex').slice(0, 16);

const micro = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export function downloadEvent(req: ApiRequest, r: DownloadRecord, code: number, done: Date): AuditEvent {
  const ask = r.ask;
  const e = r.accepted;
  const source = e?.spec.source;
  const annotations: Record<string, string> = {
    'authorization.k8s.io/decision': e !== undefined ? 'allow' : 'forbid',
    'export.hikube.io/result': r.result,
    'export.hikube.io/bytes': String(r.bytes),
  };
  if (r.token !== undefined && r.token !== '')
    annotations['export.hikube.io/token-sha256'] = tokenFingerprint(r.token);
  if (e?.status?.tokenSecretRef !== undefined)
    annotations['export.hikube.io/token-secret'] = e.status.tokenSecretRef;
  if (source !== undefined) annotations['export.hikube.io/source'] = `${source.kind}/${source.name}`;
  if (ask?.what === 'volume') {
    annotations['export.hikube.io/volume'] = ask.volume;
    annotations['export.hikube.io/format'] = ask.inDir ? 'dir' : ask.format;
  } else if (ask?.what === 'manifest') annotations['export.hikube.io/manifest'] = ask.manifest;
  const agent = req.headers['user-agent'];
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    // Without the query: a token may be sent there.
    requestURI: (req.url ?? '').replace(/\?.*$/, ''),
    verb: 'get',
    user:
      e !== undefined && ask !== undefined
        ? {
            username: `system:export-token:${ask.namespace}:${ask.name}`,
            groups: ['system:export-tokens'],
          }
        : { username: 'system:anonymous', groups: ['system:unauthenticated'] },
    sourceIPs: [req.socket.remoteAddress ?? ''],
    ...(agent !== undefined ? { userAgent: agent } : {}),
    ...(ask !== undefined
      ? {
          objectRef: {
            resource: 'virtualmachineexports',
            namespace: ask.namespace,
            name: ask.name,
            apiGroup: 'export.kubevirt.io',
            apiVersion: 'v1',
          },
        }
      : {}),
    responseStatus: { metadata: {}, code },
    requestReceivedTimestamp: micro(r.received),
    stageTimestamp: micro(done),
    annotations,
  };
}
