/**
 * A local directory as a backup target (the embedded default when no bucket is configured). Each
 * object is a file written whole: to a temp file in the same directory, fsynced, then renamed over
 * the final name, so a crash leaves the old object, no object, or the new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkKey, checkPrefix, ObjectNotFoundError, type Target } from './target.js';

const TEMP = '.tmp-';

class LocalTarget implements Target {
  readonly uri: string;
  constructor(private readonly root: string) {
    this.uri = pathToFileURL(root + '/').href;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, data: Buffer, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `${TEMP}${randomBytes(6).toString('hex')}`);
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(temp, { force: true });
      throw err;
    }
    await file.close();
    try {
      signal?.throwIfAborted();
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await readFile(this.path(key), signal === undefined ? {} : { signal });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(this.uri + key);
      throw err;
    }
  }

  async getRange(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    signal?.throwIfAborted();
    let file;
    try {
      file = await open(this.path(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(this.uri + key);
      throw err;
    }
    try {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await file.read(buf, 0, length, offset);
      if (bytesRead !== length)
        throw new Error(`${this.uri}${key}: ${bytesRead} bytes at ${offset}, wanted ${length}`);
      return buf;
    } finally {
      await file.close();
    }
  }

  async list(prefix: string, signal?: AbortSignal): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      signal?.throwIfAborted();
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith(TEMP)) continue;
        if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`);
        else if (e.isFile()) keys.push(rel + e.name);
      }
    };
    await walk(prefix === '' ? this.root : this.path(prefix.slice(0, -1)), prefix);
    return keys.sort();
  }

  async delete(keys: string[], signal?: AbortSignal): Promise<void> {
    for (const key of keys) {
      signal?.throwIfAborted();
      await rm(this.path(key), { force: true });
    }
  }
}

export function localTarget(dir: string): Target {
  return new LocalTarget(resolve(dir));
}
