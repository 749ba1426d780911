/**
 * An S3-compatible bucket as a backup target, through the AWS SDK's S3 client (Signature V4,
 * retries with backoff, path-style or virtual-hosted addressing). Credentials and the CA bundle are
 * given by the caller (the controller reads them from a Secret); nothing is read from the process
 * environment or ~/.aws, so one platform can hold targets of several tenants side by side.
 *
 * Objects are packs of ~32 MiB, their small indexes and manifests, so each is one PutObject:
 * multipart upload would only add requests (see README.md, "Why no multipart upload"). Restores
 * read single chunks out of packs with ranged GETs.
 *
 * Every connection obeys the outbound address policy (src/network/outbound.ts): the agents resolve
 * names through its guarded lookup, so the address connected to is the one checked. The
 * controller's check of the endpoint before a run is not enough alone: the name is resolved again
 * for each connection, and may then answer a private address (DNS rebinding); with virtual-hosted
 * addressing the client connects to `bucket.endpoint`, another name altogether.
 */
import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { isIP } from 'node:net';
import { checkTarget, guardedLookup, type LookupAll, type OutboundPolicy } from '../network/outbound.js';
import { checkKey, checkPrefix, ObjectNotFoundError, type Target } from './target.js';

export interface S3TargetOptions {
  /** https://host[:port] (or http:// on loopback for tests). */
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to every key; '/'-separated, without leading or trailing '/'. */
  prefix?: string;
  /** Addresses the bucket as https://endpoint/bucket (most self-hosted servers want this). */
  forcePathStyle?: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** PEM certificates trusted for the endpoint instead of the system's. */
  caBundle?: string;
  /** Where connections may go (`hikube up --allow-private-targets` for a bucket on loopback). */
  targets: OutboundPolicy;
  /** How names resolve (default: the system's resolver); tests answer without DNS. */
  lookupAll?: LookupAll;
}

/** How many requests may be open at once to one target (the repository keeps a few in flight). */
const MAX_SOCKETS = 8;

class S3Target implements Target {
  readonly uri: string;
  private readonly client: S3Client;
  private readonly root: string;

  constructor(private readonly o: S3TargetOptions) {
    this.root = o.prefix === undefined || o.prefix === '' ? '' : `${checkKey(o.prefix)}/`;
    this.uri = `s3://${o.bucket}/${this.root}`;
    const agent = {
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      lookup: guardedLookup(o.targets, o.lookupAll),
    };
    this.client = new S3Client({
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: o.forcePathStyle ?? false,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      // Our own sha256 covers every object end to end; the SDK's default CRC trailers are not
      // understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: new HttpAgent(agent),
        httpsAgent: new HttpsAgent(o.caBundle === undefined ? agent : { ...agent, ca: o.caBundle }),
      },
    });
    // Chunk bodies are not hashed a second time for the signature: each chunk is named by the
    // sha256 of its content and checked on every read, so the signer is told UNSIGNED-PAYLOAD
    // (what the SDK itself sends for streamed bodies). This halves the CPU spent per byte sent.
    this.client.middlewareStack.add(
      (next) => (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers !== undefined) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'hikubeUnsignedPayload' },
    );
    // Node connects to an IP literal without a lookup: such a host is checked before the request.
    this.client.middlewareStack.add(
      (next) => (args) => {
        const host = (args.request as { hostname?: string }).hostname?.replace(/^\[(.*)\]$/, '$1') ?? '';
        if (isIP(host) !== 0) checkTarget(o.targets, host);
        return next(args);
      },
      { step: 'build', name: 'hikubeOutboundPolicy' },
    );
  }

  private failed(action: string, key: string, err: unknown): Error {
    const why = err instanceof Error ? err.message : String(err);
    return new Error(`failed ${action} ${this.uri}${key}: ${why}`, { cause: err });
  }

  async put(key: string, data: Buffer, signal?: AbortSignal): Promise<void> {
    const Key = this.root + checkKey(key);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.o.bucket, Key, Body: data, ContentLength: data.length }),
        signal === undefined ? {} : { abortSignal: signal },
      );
    } catch (err) {
      throw this.failed('writing', key, err);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Buffer> {
    const Key = this.root + checkKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      if (out.Body === undefined) throw new Error('empty response');
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      throw this.readFailure(key, err);
    }
  }

  async getRange(key: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const Key = this.root + checkKey(key);
    let data: Buffer;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key, Range: `bytes=${offset}-${offset + length - 1}` }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      if (out.Body === undefined) throw new Error('empty response');
      data = Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      throw this.readFailure(key, err);
    }
    if (data.length !== length)
      throw this.failed('reading', key, new Error(`${data.length} bytes at ${offset}, wanted ${length}`));
    return data;
  }

  private readFailure(key: string, err: unknown): Error {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((err as Error).name === 'NoSuchKey' || status === 404) return new ObjectNotFoundError(this.uri + key);
    return this.failed('reading', key, err);
  }

  async list(prefix: string, signal?: AbortSignal): Promise<string[]> {
    const Prefix = this.root + checkPrefix(prefix);
    const keys: string[] = [];
    // ListObjects (v1) paged by Marker = the last key seen: every S3-compatible server has it.
    // (s3rver makes ListObjectsV2's continuation tokens with DES, which OpenSSL 3 refuses: any
    // listing longer than one page failed there.)
    let Marker: string | undefined;
    try {
      for (;;) {
        const out = await this.client.send(
          new ListObjectsCommand({
            Bucket: this.o.bucket,
            Prefix,
            ...(Marker === undefined ? {} : { Marker }),
          }),
          signal === undefined ? {} : { abortSignal: signal },
        );
        const page = (out.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
        for (const k of page) keys.push(k.slice(this.root.length));
        if (out.IsTruncated !== true || page.length === 0) break;
        Marker = page[page.length - 1];
      }
    } catch (err) {
      throw this.failed('listing', prefix, err);
    }
    return keys.sort();
  }

  async delete(keys: string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.root + checkKey(k) }));
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: batch, Quiet: true } }),
          signal === undefined ? {} : { abortSignal: signal },
        );
        const first = out.Errors?.[0];
        if (first !== undefined)
          throw new Error(`${first.Key ?? ''}: ${first.Message ?? first.Code ?? 'failed'}`);
      } catch (err) {
        throw this.failed('deleting', keys[i] ?? '', err);
      }
    }
  }
}

export function s3Target(o: S3TargetOptions): Target {
  return new S3Target(o);
}
