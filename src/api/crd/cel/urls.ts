/**
 * Kubernetes' CEL URL library (`url`, `isURL`, `getScheme`, `getHost`, `getHostname`, `getPort`,
 * `getEscapedPath`, `getQuery`), which @bufbuild/cel does not ship and CRDs use to check webhook
 * and endpoint fields. A URL is carried as its text, like a quantity (library.ts). What counts as a
 * URL follows Go's url.ParseRequestURI, which kube-apiserver uses: an absolute URL with a scheme, or
 * an absolute path; the parts are split by hand (not with WHATWG's URL, which would lower-case the
 * host and drop a default port, where Kubernetes returns them as written).
 */
import {
  CelScalar,
  celFunc,
  celList,
  celMap,
  celMethod,
  mapType,
  listType,
  type CelFunc,
} from '@bufbuild/cel';

const { STRING, BOOL } = CelScalar;

interface Url {
  scheme: string;
  /** Host and port, as written (`[::1]:80`). */
  host: string;
  path: string;
  query: string;
}

/** Thrown by a URL function; the evaluator turns it into the rule's evaluation error. */
class UrlError extends Error {}

/** The parts of `text`, or why it is not a URL (Go's wording). */
export function parseUrl(text: string): Url | string {
  if ([...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return 'net/url: invalid control character in URL';
  const hash = text.indexOf('#');
  const rest = hash < 0 ? text : text.slice(0, hash);
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(rest)?.[0].slice(0, -1) ?? '';
  if (rest.startsWith(':')) return 'missing protocol scheme';
  let tail = rest.slice(scheme === '' ? 0 : scheme.length + 1);
  const question = tail.indexOf('?');
  const query = question < 0 ? '' : tail.slice(question + 1);
  if (question >= 0) tail = tail.slice(0, question);
  if (!tail.startsWith('/')) {
    // `mailto:x` is an opaque URL; without a scheme, only an absolute path is a request URI.
    if (scheme !== '') return { scheme, host: '', path: '', query };
    return 'invalid URI for request';
  }
  if (scheme === '' || !tail.startsWith('//')) return { scheme, host: '', path: tail, query };
  const slash = tail.indexOf('/', 2);
  const authority = slash < 0 ? tail.slice(2) : tail.slice(2, slash);
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (/[\s<>"{}|\\^`]/.test(host)) return `invalid character in host name ${JSON.stringify(host)}`;
  const port = /^(?:\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/.exec(host);
  if (port === null || !/^[0-9]*$/.test(port[1] ?? ''))
    return `invalid port after host ${JSON.stringify(host)}`;
  return { scheme, host, path: slash < 0 ? '' : tail.slice(slash), query };
}

function url(text: string): Url {
  const u = parseUrl(text);
  if (typeof u === 'string')
    throw new UrlError(`URL parse error during conversion from string: parse ${JSON.stringify(text)}: ${u}`);
  return u;
}

/** The host without its port, and an IPv6 address without its brackets. */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function port(host: string): string {
  const after = host.startsWith('[') ? host.slice(host.indexOf(']') + 1) : host;
  const colon = after.indexOf(':');
  return colon < 0 ? '' : after.slice(colon + 1);
}

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
};

/** Go's url.ParseQuery: pairs split on `&`, decoded, values grouped by key; undecodable pairs left out. */
function query(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

export const urlFunctions: CelFunc[] = [
  celFunc('url', [STRING], STRING, (s) => (url(s), s)),
  celFunc('isURL', [STRING], BOOL, (s) => typeof parseUrl(s) !== 'string'),
  celMethod('getScheme', STRING, [], STRING, function () {
    return url(this).scheme;
  }),
  celMethod('getHost', STRING, [], STRING, function () {
    return url(this).host;
  }),
  celMethod('getHostname', STRING, [], STRING, function () {
    return hostname(url(this).host);
  }),
  celMethod('getPort', STRING, [], STRING, function () {
    return port(url(this).host);
  }),
  celMethod('getEscapedPath', STRING, [], STRING, function () {
    return url(this).path;
  }),
  celMethod('getQuery', STRING, [], mapType(STRING, listType(STRING)), function () {
    const entries = [...query(url(this).query)].map(([k, v]) => [k, celList(v)] as const);
    return celMap(new Map(entries));
  }),
];
