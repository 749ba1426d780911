/** A raw watch stream, collecting events as they arrive. */
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TestPlatform } from './platform.js';

export interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    metadata?: { name?: string; resourceVersion?: string };
    code?: number;
    rows?: { cells: unknown[] }[];
  };
}

export interface RawWatch {
  events: WatchEvent[];
  ended: Promise<void>;
  stop(): void;
}

export function watch(p: TestPlatform, path: string, headers: Record<string, string> = {}): RawWatch {
  const events: WatchEvent[] = [];
  let buffer = '';
  let req: ClientRequest | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    req = request(
      new URL(path, p.url),
      {
        ca: readFileSync(join(p.dataDir, 'pki', 'ca.crt')),
        headers: { Authorization: `Bearer ${p.token}`, ...headers },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line !== '') events.push(JSON.parse(line) as WatchEvent);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
      },
    );
    req.on('error', (err: Error) => (String(err).includes('socket hang up') ? resolve() : reject(err)));
    req.end();
  });
  return { events, ended, stop: () => req?.destroy() };
}
