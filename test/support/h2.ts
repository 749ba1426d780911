/**
 * A raw HTTP/2 client for tests: one session (one TLS connection negotiated with ALPN `h2`),
 * many requests multiplexed over it, as a browser or kubectl sends them.
 */
import {
  connect,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Connects and resolves once the session is up, or rejects (e.g. the server does not speak h2). */
export function connectH2(url: string, ca: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca });
    session.once('error', reject);
    session.once('connect', () => {
      session.off('error', reject);
      session.on('error', () => undefined); // reported through the requests
      resolve(session);
    });
  });
}

export interface H2RequestOptions {
  token?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** Opens one stream; `:status` and the headers come with the 'response' event. */
export function h2Stream(
  session: ClientHttp2Session,
  method: string,
  path: string,
  options: H2RequestOptions = {},
): ClientHttp2Stream {
  const stream = session.request({
    ':method': method,
    ':path': path,
    ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
    ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  });
  stream.end(options.body);
  return stream;
}

/** One whole request and response. */
export function h2Request(
  session: ClientHttp2Session,
  method: string,
  path: string,
  options: H2RequestOptions = {},
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = h2Stream(session, method, path, options);
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () =>
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

export interface H2Watch {
  /** Resolves with the response headers once the server has answered. */
  headers: Promise<IncomingHttpHeaders>;
  /** Every complete line received so far. */
  lines: string[];
  stream: ClientHttp2Stream;
}

/** A watch (or any line-delimited stream) whose lines are collected as they arrive. */
export function h2Watch(session: ClientHttp2Session, path: string, token: string): H2Watch {
  const stream = h2Stream(session, 'GET', path, { token });
  const lines: string[] = [];
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  });
  stream.on('error', () => undefined); // a watch cut by the test or the server
  const headers = new Promise<IncomingHttpHeaders>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('close', () => reject(new Error(`the watch ${path} closed before answering`)));
  });
  headers.catch(() => undefined);
  return { headers, lines, stream };
}
