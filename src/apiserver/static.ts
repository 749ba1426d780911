/**
 * The web console's files (web/dist, built by `npm run build:web`), served by the API server at `/`
 * and `/console/*` without authentication: the HTML and scripts hold no data, and every call they make
 * to the API carries the user's token. Any other path, and every API path, is left to the API server.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ApiRequest, ApiResponse } from './http.js';

/** Paths that belong to the API (and the metrics endpoint), never to the console. */
export const API_PREFIXES = [
  '/api',
  '/apis',
  '/openapi',
  '/version',
  '/healthz',
  '/readyz',
  '/livez',
  '/metrics',
];

/** Where the console's URLs live; `/` serves its page too. */
export const CONSOLE_PREFIX = '/console';

export const isApiPath = (path: string): boolean =>
  API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));

export interface ConsoleSite {
  /** Answers the request when it is a GET or HEAD of a console path; false leaves it to the API. */
  serve(req: ApiRequest, res: ApiResponse): Promise<boolean>;
}

/** web/dist of this checkout (the compiled server runs from dist/src/apiserver/). */
export const defaultConsoleDir = (): string => fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt']);

/**
 * What the page may load: only this origin (the API and its WebSockets included). Styles allow inline
 * because PatternFly, xterm.js and CodeMirror set style attributes and elements at run time.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface CachedFile {
  version: string;
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
}

export function consoleSite(root = defaultConsoleDir()): ConsoleSite {
  const base = resolve(root);
  const cache = new Map<string, CachedFile>();

  const load = async (file: string): Promise<CachedFile | undefined> => {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const version = `${info.size}:${info.mtimeMs}`;
    const cached = cache.get(file);
    if (cached?.version === version) return cached;
    const body = await readFile(file);
    const ext = extname(file);
    const entry: CachedFile = {
      version,
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      gzip: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body) : undefined,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    cache.set(file, entry);
    return entry;
  };

  return {
    async serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      if (isApiPath(path)) return false;
      if (path !== '/' && path !== CONSOLE_PREFIX && !path.startsWith(`${CONSOLE_PREFIX}/`)) return false;
      const rel = path.startsWith(`${CONSOLE_PREFIX}/`) ? path.slice(CONSOLE_PREFIX.length + 1) : '';
      let file: string | undefined;
      if (rel !== '' && extname(rel) !== '') {
        // A file of the build (a hashed asset): it exists or it is a 404, never the page.
        const decoded = safeDecode(rel);
        const target = decoded === undefined ? undefined : resolve(base, decoded);
        if (target === undefined || !target.startsWith(base + sep)) return sendText(res, 400, 'bad path');
        file = target;
      }
      const entry = await load(file ?? join(base, 'index.html'));
      if (entry === undefined) {
        if (file !== undefined) return sendText(res, 404, `${path} is not part of the console`);
        return sendText(
          res,
          503,
          'The web console is not built. Run `npm run build:web` (scripts/setup.sh does), then reload.',
        );
      }
      send(req, res, entry, file === undefined);
      return true;
    },
  };
}

function send(req: ApiRequest, res: ApiResponse, entry: CachedFile, page: boolean): void {
  const headers: Record<string, string> = {
    'Content-Type': entry.type,
    ETag: entry.etag,
    Vary: 'Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
    // Hashed asset names change with their content; the page is checked every time.
    'Cache-Control': page ? 'no-cache' : 'public, max-age=31536000, immutable',
  };
  if (page) {
    headers['Content-Security-Policy'] = CSP;
    headers['Referrer-Policy'] = 'no-referrer';
    headers['X-Frame-Options'] = 'DENY';
  }
  if (req.headers['if-none-match'] === entry.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = entry.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip && entry.gzip !== undefined ? entry.gzip : entry.body;
  if (gzip) headers['Content-Encoding'] = 'gzip';
  headers['Content-Length'] = String(body.length);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

function sendText(res: ApiResponse, code: number, text: string): true {
  res.writeHead(code, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
  return true;
}

function safeDecode(rel: string): string | undefined {
  try {
    const decoded = decodeURIComponent(rel);
    return decoded.includes('\0') ? undefined : decoded;
  } catch {
    return undefined;
  }
}
