/**
 * The audit log: one JSON line per mutating request and per denied one (401, 403), and one per
 * export download (src/storage/export/audit.ts, served before authentication), shaped like
 * Kubernetes' audit.k8s.io/v1 Event at level Metadata (user, verb, objectRef, response code,
 * timestamps; never a body, never a credential), appended to DATA_DIR/audit.log. Past `maxBytes`
 * the file is renamed to audit.log.1 (older ones shift up, the oldest beyond `backups` is
 * dropped) and a new one started; lines recorded before land in the renamed file.
 *
 * Lines are gathered and written together at most `flushMs` (default 10 ms) after the first of
 * them, or at once past 64 KiB: a write per request (through libuv's pool) was the largest part
 * of the gate's cost on a PATCH. close() writes what is pending.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { ApiRequest } from '../http.js';
import type { RequestAttributes } from './attributes.js';
import type { UserInfo } from './user.js';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata';
  auditID: string;
  stage: 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: { username: string; uid?: string; groups: readonly string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: {
    resource: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
    apiVersion: string;
    subresource?: string;
  };
  responseStatus: { metadata: Record<string, never>; code: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', 'post', 'put']);

/** Whether a request is recorded: it changed something, or it was refused for who sent it. */
export const audited = (verb: string, code: number): boolean =>
  MUTATING.has(verb) || code === 401 || code === 403;

/**
 * The name of the object a request created, told by the handler that created it: a create's URL
 * names no object (and a generateName body names none either), its answer does.
 */
const createdNames = new WeakMap<object, string>();
export const noteCreated = (res: object, name: string): void => {
  if (name !== '') createdNames.set(res, name);
};
export const createdName = (res: object): string | undefined => createdNames.get(res);

/** RFC 3339 with microseconds, as Kubernetes writes audit timestamps. */
const micro = (d: Date): string => `${d.toISOString().slice(0, -1)}000Z`;

export function auditEvent(
  req: ApiRequest,
  attrs: RequestAttributes,
  user: UserInfo | undefined,
  code: number,
  received: Date,
  done: Date,
  decision?: string,
  createdObjectName?: string,
): AuditEvent {
  const name = attrs.name !== '' ? attrs.name : (createdObjectName ?? '');
  const ref = attrs.resourceRequest
    ? {
        resource: attrs.resource,
        ...(attrs.namespace !== '' ? { namespace: attrs.namespace } : {}),
        ...(name !== '' ? { name } : {}),
        ...(attrs.apiGroup !== '' ? { apiGroup: attrs.apiGroup } : {}),
        apiVersion: attrs.apiVersion,
        ...(attrs.subresource !== '' ? { subresource: attrs.subresource } : {}),
      }
    : undefined;
  const agent = req.headers['user-agent'];
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: req.url ?? '',
    verb: attrs.verb,
    user:
      user === undefined
        ? { username: 'system:anonymous', groups: ['system:unauthenticated'] }
        : {
            username: user.username,
            ...(user.uid !== undefined ? { uid: user.uid } : {}),
            groups: user.groups,
          },
    sourceIPs: [req.socket.remoteAddress ?? ''],
    ...(agent !== undefined ? { userAgent: agent } : {}),
    ...(ref !== undefined ? { objectRef: ref } : {}),
    responseStatus: { metadata: {}, code },
    requestReceivedTimestamp: micro(received),
    stageTimestamp: micro(done),
    ...(decision !== undefined ? { annotations: { 'authorization.k8s.io/decision': decision } } : {}),
  };
}

export interface AuditLogOptions {
  path: string;
  /** Rotate past this size (default 100 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 5). */
  backups?: number;
  /** How long a line may wait to be written with the ones after it (default 10 ms). */
  flushMs?: number;
}

/** Past this many pending bytes the lines are written without waiting for the timer. */
const FLUSH_BYTES = 64 * 1024;

export class AuditLog {
  /** The open file, -1 once closed. */
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly backups: number;
  private readonly flushMs: number;
  /** Lines recorded and not yet written, and their size in bytes. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AuditLogOptions) {
    this.maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
    this.backups = Math.max(1, options.backups ?? 5);
    this.flushMs = options.flushMs ?? 10;
    this.size = existsSync(options.path) ? statSync(options.path).size : 0;
    this.fd = openSync(options.path, 'a', 0o600);
  }

  record(event: AuditEvent): void {
    if (this.fd < 0) return;
    const line = `${JSON.stringify(event)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    this.size += bytes;
    this.pending.push(line);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  close(): Promise<void> {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    return Promise.resolve();
  }

  /**
   * Writes the pending lines in one call. Synchronous: a few KiB appended to the page cache every
   * few milliseconds costs less than handing each batch to libuv's pool and back.
   */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.fd < 0) return;
    const data = Buffer.from(this.pending.length === 1 ? (this.pending[0] ?? '') : this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let at = 0; at < data.length;) at += writeSync(this.fd, data, at);
    } catch {
      // A failed write (disk full) must not take the API server down; its requests were answered.
    }
  }

  private rotate(): void {
    this.flush();
    const p = this.options.path;
    rmSync(`${p}.${this.backups}`, { force: true });
    for (let i = this.backups - 1; i >= 1; i--)
      if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
    renameSync(p, `${p}.1`);
    closeSync(this.fd);
    this.fd = openSync(p, 'a', 0o600);
    this.size = 0;
  }
}
