/**
 * The export download server, on the API server's HTTPS listener (its TLS, its port) under
 * /exports (paths.ts). Like KubeVirt's export server it takes one credential, the export's token,
 * in the `x-kubevirt-export-token` header or query parameter, compared in constant time; so it is
 * served before the API's authentication. Missing token: 401; a wrong one, or an export that does
 * not exist: 403 (the answer does not tell which). The volume a URL names is mapped to its disk
 * file here, through the same source question the controller asks (a VM started since the export
 * became Ready is refused), and the bytes are streamed (formats.ts). Every request, served or
 * refused, is recorded in the audit log once answered (audit.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { secretKind } from '../../api/core/core.js';
import {
  EXPORT_TOKEN_HEADER,
  TOKEN_KEY,
  virtualMachineExportKind,
  type VirtualMachineExport,
} from '../../api/export/export.js';
import type { KubeObject } from '../../api/meta.js';
import { ApiError } from '../../apiserver/errors.js';
import type { ApiRequest, ApiResponse } from '../../apiserver/http.js';
import type { ExtraRoute } from '../../apiserver/server.js';
import { downloadEvent, type AuditSink, type DownloadRecord } from './audit.js';
import type { ReadSource, SourceReader } from './source.js';
import { exportBody, type QemuImgRun } from './formats.js';
import { renderManifests } from './manifests.js';
import { EXPORT_PATH, parseExportPath, volumeUrl, type ExportRequest } from './paths.js';

export interface ExportServerOptions extends SourceReader {
  /** Whether the export's disks can be read now (the export controller's rule). */
  readSource: ReadSource;
  /** Where converted disks are staged while they stream (a directory of the data dir). */
  tmpDir: string;
  qemuImg: QemuImgRun;
  /** This server's URL (the manifests' DataVolumes download from it). */
  url: () => string;
  /** The platform's audit log: one event per request, with the bytes sent and how it ended. */
  audit?: AuditSink;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export const sameToken = (given: string, expected: string): boolean =>
  expected !== '' && timingSafeEqual(digest(given), digest(expected));

function tokenOf(req: ApiRequest, url: URL): string | undefined {
  const header = req.headers[EXPORT_TOKEN_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value ?? url.searchParams.get(EXPORT_TOKEN_HEADER) ?? undefined;
}

export function exportRoutes(o: ExportServerOptions): ExtraRoute[] {
  const authorize = (
    req: ApiRequest,
    url: URL,
    ask: ExportRequest,
    record: DownloadRecord,
  ): VirtualMachineExport => {
    const token = tokenOf(req, url);
    if (token !== undefined) record.token = token;
    if (token === undefined || token === '')
      throw new ApiError('Unauthorized', `export token missing: send the ${EXPORT_TOKEN_HEADER} header`);
    const e = o.api.get<VirtualMachineExport>(virtualMachineExportKind, ask.namespace, ask.name);
    const secretName = e?.status?.tokenSecretRef;
    const secret =
      secretName === undefined
        ? undefined
        : o.api.get<KubeObject & { data?: Record<string, string> }>(secretKind, ask.namespace, secretName);
    const expected = Buffer.from(secret?.data?.[TOKEN_KEY] ?? '', 'base64').toString('utf8');
    if (e === undefined || !sameToken(token, expected))
      throw new ApiError('Forbidden', `export token refused for ${ask.namespace}/${ask.name}`);
    record.accepted = e;
    return e;
  };

  const serve = async (
    req: ApiRequest,
    res: ApiResponse,
    url: URL,
    match: readonly string[],
    record: DownloadRecord,
  ): Promise<void> => {
    if (req.method !== 'GET')
      throw new ApiError('MethodNotAllowed', `${req.method ?? ''} is not supported on the export server`);
    const ask = parseExportPath(match[0] ?? '');
    if (ask === undefined) throw new ApiError('NotFound', 'no such export path');
    record.ask = ask;
    const e = authorize(req, url, ask, record);
    const source = o.readSource(o, e);
    if (e.status?.phase !== 'Ready' || source.state !== 'ready')
      throw new ApiError(
        'Conflict',
        `export ${ask.namespace}/${ask.name} is not ready${source.state === 'ready' ? '' : `: ${source.message}`}`,
      );
    if (ask.what === 'manifest') {
      const json = (req.headers.accept ?? '').includes('application/json');
      const body = renderManifests(e, source, o.url(), ask.manifest, json, secretOf(o, e));
      res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/yaml' });
      res.end(body);
      Object.assign(record, { bytes: Buffer.byteLength(body), result: 'complete' });
      return;
    }
    const volume = source.volumes.find((v) => v.name === ask.volume);
    if (volume === undefined)
      throw new ApiError(
        'NotFound',
        `export ${ask.namespace}/${ask.name} has no volume ${JSON.stringify(ask.volume)}`,
      );
    if (ask.format === 'dir' && !ask.inDir) {
      const link = volumeUrl('', ask.namespace, ask.name, volume.name, 'dir');
      const index = `<!doctype html>\n<pre>\n<a href="${link}/disk.img">disk.img</a>\n</pre>\n`;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(index);
      Object.assign(record, { bytes: Buffer.byteLength(index), result: 'complete' });
      return;
    }
    const body = await exportBody(volume, ask.format, o.tmpDir, o.qemuImg);
    try {
      res.writeHead(200, {
        'Content-Type': body.contentType,
        ...(body.length !== undefined ? { 'Content-Length': String(body.length) } : {}),
      });
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          record.bytes += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body.stream, count, res as NodeJS.WritableStream);
      record.result = 'complete';
    } catch {
      record.result = 'cut short';
      // The status line is sent: a failure now (the client gone, a read error) can only cut the
      // body short, which the client sees against Content-Length or the gzip trailer.
      res.destroy();
    } finally {
      await body.cleanup();
    }
  };
  /**
   * Recorded once both are known: how the handler ended (a stream's last bytes may close the
   * response before the pipeline returns) and the status sent (an error is answered after it).
   */
  const handle = async (
    req: ApiRequest,
    res: ApiResponse,
    url: URL,
    match: readonly string[],
  ): Promise<void> => {
    const record: DownloadRecord = { received: new Date(), bytes: 0, result: 'refused' };
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const audit = o.audit;
    if (audit !== undefined)
      res.once('close', () => {
        void settled.then(() => audit.record(downloadEvent(req, record, res.statusCode, new Date())));
      });
    try {
      await serve(req, res, url, match, record);
    } finally {
      settle();
    }
  };
  return [{ path: EXPORT_PATH, handle }];
}

function secretOf(o: SourceReader, e: VirtualMachineExport): string {
  const name = e.status?.tokenSecretRef ?? '';
  const s = o.api.get<KubeObject & { data?: Record<string, string> }>(
    secretKind,
    e.metadata.namespace ?? '',
    name,
  );
  return Buffer.from(s?.data?.[TOKEN_KEY] ?? '', 'base64').toString('utf8');
}

/** The staging directory of the download server under a data dir. */
export const exportTmpDir = (dataDir: string): string => join(dataDir, 'tmp', 'exports');
