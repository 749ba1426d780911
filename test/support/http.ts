/** Raw HTTPS requests against a test platform, trusting its CA: for asserting exact Status bodies. */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TestPlatform } from './platform.js';

export interface RawResponse {
  code: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown>;
}

export function raw(
  p: TestPlatform,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  token: string | null = p.token,
): Promise<RawResponse> {
  const ca = readFileSync(join(p.dataDir, 'pki', 'ca.crt'));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, p.url),
      {
        method,
        ca,
        headers: {
          ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
          'Content-Type': 'application/json',
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = {};
          }
          resolve({ code: res.statusCode ?? 0, headers: res.headers, body: text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
