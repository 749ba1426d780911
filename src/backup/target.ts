/**
 * Where backup artifacts live: an S3 bucket (under a prefix) or a local directory. A target is a
 * flat store of whole objects (read whole or by range) named by '/'-separated keys relative to its
 * root; the repository
 * (repository.ts) decides the layout. Keys are checked here, once, so no key can leave the target's
 * root (no '..', no absolute paths, no empty segments) whatever the caller passes.
 */

export interface Target {
  /** The target's root as a URI (s3://bucket/prefix/ or file:///dir/), for messages and artifacts. */
  readonly uri: string;
  /** Stores an object whole: a reader sees the old object, or none, or the whole new one. */
  put(key: string, data: Buffer, signal?: AbortSignal): Promise<void>;
  /** Reads an object; a missing one throws ObjectNotFoundError. */
  get(key: string, signal?: AbortSignal): Promise<Buffer>;
  /** Reads `length` bytes of an object from `offset` (a ranged GET); fewer bytes = an error. */
  getRange(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Every key under a '/'-ended prefix ('' for all), sorted. */
  list(prefix: string, signal?: AbortSignal): Promise<string[]>;
  /** Deletes objects; a missing one is not an error. */
  delete(keys: string[], signal?: AbortSignal): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly uri: string) {
    super(`object ${uri} not found`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidKeyError extends Error {
  constructor(key: string, why: string) {
    super(`invalid backup object key ${JSON.stringify(key)}: ${why}`);
    this.name = 'InvalidKeyError';
  }
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Throws InvalidKeyError unless every segment is a plain name (letters, digits, '.', '_', '-'). */
export function checkKey(key: string): string {
  if (key.length === 0 || key.length > 1024) throw new InvalidKeyError(key, 'must be 1 to 1024 characters');
  for (const seg of key.split('/')) {
    if (seg === '') throw new InvalidKeyError(key, 'empty path segment');
    if (seg === '.' || seg === '..') throw new InvalidKeyError(key, `"${seg}" is not allowed`);
    if (!SEGMENT.test(seg))
      throw new InvalidKeyError(key, 'only letters, digits, ".", "_" and "-" are allowed');
  }
  return key;
}

/** A list prefix: '' or a checked key ending with '/'. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (!prefix.endsWith('/')) throw new InvalidKeyError(prefix, 'a prefix ends with "/"');
  checkKey(prefix.slice(0, -1));
  return prefix;
}
