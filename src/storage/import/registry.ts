/**
 * Pulls a containerDisk from an OCI / Docker v2 registry, as CDI's registry importer does: resolve
 * the reference (`docker://host[:port]/repo[:tag|@sha256:…]`), fetch the manifest (a multi-platform
 * index picks linux/amd64), then the layers from the top one down until one holds `disk/*`; every
 * blob is checked against its digest. Registry auth: anonymous, Basic, or the Bearer token flow
 * (with the Secret's credentials when given). `localhost` and 127.0.0.1 are spoken to over plain
 * http, as Docker does; every other registry over https (extra CAs from certConfigMap). Every
 * request, redirects and token services included, connects only where the outbound policy allows.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Writable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rootCertificates } from 'node:tls';
import { createGunzip } from 'node:zlib';
import { outboundRequestOptions, type OutboundPolicy } from '../../network/outbound.js';
import { ImportError, asImportError, connectionError } from './errors.js';
import { extractEach, extractFirst } from './tar.js';

export interface RegistrySource {
  url: string;
  /** The host[:port] to pull from instead of the reference's registry (a mirror). */
  mirror?: string;
  auth?: { user: string; password: string };
  ca?: string[];
  insecureSkipVerify?: boolean;
}

export interface ImageReference {
  registry: string;
  repository: string;
  /** A tag or a digest (`sha256:…`). */
  reference: string;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/** `docker://quay.io/containerdisks/fedora:40` → registry, repository, tag or digest. */
export function parseReference(url: string): ImageReference {
  const ref = url.replace(/^docker:\/\//, '');
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const explicit = first.includes('.') || first.includes(':') || first === 'localhost';
  // Docker Hub is named docker.io in references but served by registry-1.docker.io.
  const registry = explicit && first !== 'docker.io' ? first : 'registry-1.docker.io';
  let rest = explicit ? ref.slice(slash + 1) : ref;
  if (!explicit && !rest.includes('/')) rest = `library/${rest}`;
  const at = rest.indexOf('@');
  if (at >= 0) {
    // `repo:tag@sha256:…`: the digest decides; the tag is only a reminder for people.
    const named = rest.slice(0, at);
    const tagAt = named.lastIndexOf(':');
    const repository = tagAt > named.lastIndexOf('/') ? named.slice(0, tagAt) : named;
    return { registry, repository, reference: rest.slice(at + 1) };
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/'))
    return { registry, repository: rest.slice(0, colon), reference: rest.slice(colon + 1) };
  return { registry, repository: rest, reference: 'latest' };
}

const plainHttp = (registry: string): boolean =>
  /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);

interface Manifest {
  mediaType?: string;
  manifests?: { digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }[];
  layers?: { digest: string; mediaType?: string; size?: number }[];
}

export class RegistryClient {
  /** The digest of the image manifest last fetched (after an index picked linux/amd64). */
  digest: string | undefined;
  private token: string | undefined;
  private readonly base: string;

  constructor(
    private readonly src: RegistrySource,
    private readonly targets: OutboundPolicy,
    readonly ref: ImageReference = parseReference(src.url),
    private readonly signal?: AbortSignal,
  ) {
    const host = src.mirror ?? ref.registry;
    this.base = `${plainHttp(host) ? 'http' : 'https'}://${host}/v2/${ref.repository}`;
  }

  private describe(): string {
    return `${this.ref.registry}/${this.ref.repository}${this.ref.reference.startsWith('sha256:') ? '@' : ':'}${this.ref.reference}`;
  }

  /** The image manifest for linux/amd64, its digest checked when the reference is one. */
  async manifest(reference = this.ref.reference): Promise<Manifest> {
    const res = await this.get(`${this.base}/manifests/${reference}`, { Accept: MANIFEST_TYPES.join(', ') });
    const body = await readAll(res);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference)
      throw new ImportError('Error', `the manifest of ${this.describe()} does not match its digest`, true);
    const m = JSON.parse(body.toString('utf8')) as Manifest;
    if (m.manifests !== undefined) {
      const pick = m.manifests.find((x) => x.platform?.os === 'linux' && x.platform.architecture === 'amd64');
      if (pick === undefined)
        throw new ImportError('UnsupportedFormat', `${this.describe()} has no linux/amd64 image`, true);
      return this.manifest(pick.digest);
    }
    this.digest = digest;
    return m;
  }

  /**
   * Copies files of the image out, going down the layers from the top one (an upper layer's copy
   * of a path wins): every file for which `sinkFor` gives a sink, once. Returns the paths copied.
   */
  async pullFiles(
    blobFile: string,
    sinkFor: (path: string) => Writable | undefined,
    onBytes?: (n: number, total: number) => void,
  ): Promise<string[]> {
    const m = await this.manifest();
    const layers = [...(m.layers ?? [])].reverse();
    const total = layers.reduce((n, l) => n + (l.size ?? 0), 0);
    const found: string[] = [];
    let received = 0;
    for (const layer of layers) {
      await this.fetchLayer(layer, blobFile, (n) => onBytes?.((received += n), total));
      const input = createReadStream(blobFile, { highWaterMark: 1 << 20 });
      const gz = layer.mediaType === undefined || /gzip/.test(layer.mediaType);
      await extractEach(gz ? input.pipe(createGunzip()) : input, (p) => {
        if (found.includes(p) || p.split('/').some((part) => part.startsWith('.wh.'))) return undefined;
        const sink = sinkFor(p);
        if (sink !== undefined) found.push(p);
        return sink;
      });
      input.destroy();
    }
    return found;
  }

  /** One layer into `blobFile`, its digest checked. */
  private async fetchLayer(
    layer: { digest: string },
    blobFile: string,
    onChunk: (n: number) => void,
  ): Promise<void> {
    const res = await this.get(`${this.base}/blobs/${layer.digest}`, {});
    const hash = createHash('sha256');
    const meter = new Transform({
      transform(chunk: Buffer, _e, done) {
        hash.update(chunk);
        onChunk(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(blobFile), {
        ...(this.signal !== undefined ? { signal: this.signal } : {}),
      });
    } catch (err) {
      throw asImportError(err, `pulling layer ${layer.digest.slice(0, 19)} of ${this.describe()}`);
    }
    if (`sha256:${hash.digest('hex')}` !== layer.digest)
      throw new ImportError(
        'Error',
        `layer ${layer.digest} of ${this.describe()} does not match its digest`,
        false,
      );
  }

  /**
   * Copies the disk of the image into `sink`: the first `disk/*` file found going down the layers.
   * `blobFile` holds each layer while its digest is checked.
   */
  async extractDisk(
    blobFile: string,
    sink: () => Writable,
    onBytes?: (n: number, total: number) => void,
  ): Promise<string> {
    const m = await this.manifest();
    const layers = [...(m.layers ?? [])].reverse();
    const total = layers.reduce((n, l) => n + (l.size ?? 0), 0);
    let received = 0;
    for (const layer of layers) {
      await this.fetchLayer(layer, blobFile, (n) => onBytes?.((received += n), total));
      const gz = layer.mediaType === undefined || /gzip/.test(layer.mediaType);
      const input = createReadStream(blobFile, { highWaterMark: 1 << 20 });
      const tar = gz ? input.pipe(createGunzip()) : input;
      const found = await extractFirst(
        tar,
        (p) => /^disk\/[^/]+$/.test(p) && !p.startsWith('disk/.wh.'),
        sink(),
      );
      input.destroy();
      if (found !== undefined) return found.name;
    }
    throw new ImportError(
      'UnsupportedFormat',
      `${this.describe()} is not a containerDisk: no layer holds a disk image under /disk/`,
      true,
    );
  }

  private async get(url: string, headers: Record<string, string>, hops = 0): Promise<IncomingMessage> {
    const auth: Record<string, string> = this.token !== undefined ? { Authorization: this.token } : {};
    const res = await send(url, { ...headers, ...auth }, this.src, this.targets, this.signal);
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && res.headers.location !== undefined && hops < 5) {
      res.resume();
      // Blob redirects go to storage (S3, a CDN) that must not see the registry's token.
      const next = new URL(res.headers.location, url).href;
      const saved = this.token;
      this.token = undefined;
      try {
        return await this.get(next, headers, hops + 1);
      } finally {
        this.token = saved;
      }
    }
    if (code === 401 && this.token === undefined && hops === 0) {
      res.resume();
      this.token = await this.authenticate(res.headers['www-authenticate'] ?? '');
      return this.get(url, headers, 1);
    }
    if (code >= 200 && code < 300) return res;
    const body = (await readAll(res)).toString('utf8').slice(0, 300);
    const what = `HTTP ${code} from ${this.ref.registry} for ${this.describe()}`;
    if (code === 404)
      throw new ImportError(
        'NotFound',
        `${what}: manifest unknown (no such repository, tag or digest)`,
        true,
      );
    if (code === 401 || code === 403)
      throw new ImportError('Unauthorized', `${what}: check the credentials in secretRef`, true);
    throw new ImportError('Error', `${what}: ${body}`, !(code >= 500 || code === 429 || code === 408));
  }

  /** Basic, or the Bearer token flow of the Docker registry auth spec. */
  private async authenticate(challenge: string): Promise<string> {
    const basic =
      this.src.auth === undefined
        ? undefined
        : Buffer.from(`${this.src.auth.user}:${this.src.auth.password}`).toString('base64');
    if (/^basic/i.test(challenge)) {
      if (basic === undefined)
        throw new ImportError('Unauthorized', `${this.describe()} needs credentials: set secretRef`, true);
      return `Basic ${basic}`;
    }
    const params: Record<string, string> = {};
    for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) if (m[1] !== undefined) params[m[1]] = m[2] ?? '';
    const realm = params['realm'];
    if (!/^bearer/i.test(challenge) || realm === undefined)
      throw new ImportError(
        'Unauthorized',
        `${this.describe()}: unsupported registry authentication ${JSON.stringify(challenge)}`,
        true,
      );
    const url = new URL(realm);
    if (params['service'] !== undefined) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', params['scope'] ?? `repository:${this.ref.repository}:pull`);
    const res = await send(
      url.href,
      basic !== undefined ? { Authorization: `Basic ${basic}` } : {},
      this.src,
      this.targets,
      this.signal,
    );
    if ((res.statusCode ?? 0) !== 200) {
      res.resume();
      throw new ImportError(
        'Unauthorized',
        `${this.describe()}: the token service refused (HTTP ${res.statusCode ?? 0})`,
        true,
      );
    }
    const body = JSON.parse((await readAll(res)).toString('utf8')) as {
      token?: string;
      access_token?: string;
    };
    const token = body.token ?? body.access_token;
    if (token === undefined)
      throw new ImportError('Unauthorized', `${this.describe()}: the token service sent no token`, true);
    return `Bearer ${token}`;
  }
}

function send(
  url: string,
  headers: Record<string, string>,
  src: RegistrySource,
  targets: OutboundPolicy,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const u = new URL(url);
  const https = u.protocol === 'https:';
  const options: RequestOptions & { ca?: string[]; rejectUnauthorized?: boolean } = {
    method: 'GET',
    headers: { 'User-Agent': 'hikube-importer', ...headers },
    ...(signal !== undefined ? { signal } : {}),
  };
  if (https && src.ca !== undefined && src.ca.length > 0) options.ca = [...rootCertificates, ...src.ca];
  if (https && src.insecureSkipVerify === true) options.rejectUnauthorized = false;
  return new Promise((resolve, reject) => {
    try {
      options.lookup = outboundRequestOptions(targets, u).lookup;
    } catch (err) {
      reject(connectionError(err, `contacting ${u.host}`));
      return;
    }
    const req = (https ? httpsRequest : httpRequest)(u, options, (res) => {
      res.setTimeout(30_000, () =>
        res.destroy(Object.assign(new Error('the registry stopped sending data'), { code: 'ETIMEDOUT' })),
      );
      resolve(res);
    });
    req.setTimeout(30_000, () =>
      req.destroy(Object.assign(new Error('no answer from the registry'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err) => reject(connectionError(err, `contacting ${u.host}`)));
    req.end();
  });
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
