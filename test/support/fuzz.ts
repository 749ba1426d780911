/**
 * Request generator for the API fuzz suite (test/e2e/fuzz.test.ts): a seeded PRNG, real objects of
 * every served kind as seeds, and mutations of them (wrong types, deep nesting, huge and odd
 * strings, `__proto__` keys), sent as JSON, YAML, protobuf, the three patch types and server-side
 * apply, to normal and odd paths with odd query parameters. Same seed, same requests.
 */
import { stringify } from 'yaml';
import type { KindDefinition } from '../../src/api/kind.js';
import { apiVersionOf } from '../../src/api/kind.js';
import { configMapProto, field } from './protobuf.js';

export interface FuzzRequest {
  method: string;
  path: string;
  contentType: string;
  body?: Buffer;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ODD_STRINGS = [
  '',
  ' ',
  'a'.repeat(300),
  '-bad-',
  'UPPER',
  '..',
  '%zz',
  '日本語',
  '\u0000',
  '\ud800',
  '<script>',
  "'; DROP TABLE objects; --",
  '${jndi:x}',
  '1e999',
  '-1',
  'q35,kernel=/etc/shadow',
];
const ODD_NUMBERS = [0, -1, 1.5, 2 ** 53 + 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER];

/** JSON text nested `levels` deep, built without recursion. */
export const deepText = (levels: number, open = '[', close = ']'): string =>
  open.repeat(levels) + close.repeat(levels);

/** `{"a":{"a":…{}}}`, `levels` objects deep. */
const deepObjectText = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);

function oddValue(rng: Rng): unknown {
  switch (rng.int(9)) {
    case 0:
      return rng.pick(ODD_STRINGS);
    case 1:
      return rng.pick(ODD_NUMBERS);
    case 2:
      return null;
    case 3:
      return rng.chance(0.5);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return JSON.parse(deepText(1 + rng.int(120)));
    case 7:
      return Object.fromEntries([
        ['__proto__', { polluted: true }],
        ['constructor', 'x'],
      ]);
    default:
      return 'x'.repeat(rng.int(20_000));
  }
}

/** A copy of `value` with a few nodes replaced, removed or added. */
export function mutate(value: unknown, rng: Rng): unknown {
  const copy = structuredClone<unknown>(value);
  const edits = 1 + rng.int(3);
  let out = copy;
  for (let i = 0; i < edits; i++) out = mutateOnce(out, rng);
  return out;
}

function mutateOnce(root: unknown, rng: Rng): unknown {
  if (typeof root !== 'object' || root === null || rng.chance(0.03)) return oddValue(rng);
  // Walk down a random path, then change what is there.
  let node = root as Record<string, unknown>;
  for (let depth = 0; depth < 8; depth++) {
    const keys = Object.keys(node);
    if (keys.length === 0 || rng.chance(0.25)) break;
    const child = node[rng.pick(keys)];
    if (typeof child !== 'object' || child === null) break;
    node = child as Record<string, unknown>;
  }
  const keys = Object.keys(node);
  const key = keys.length > 0 && rng.chance(0.7) ? rng.pick(keys) : rng.pick(['x', 'spec', 'metadata', '0']);
  if (rng.chance(0.2)) delete node[key];
  else
    Object.defineProperty(node, key, {
      value: oddValue(rng),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return root;
}

export interface Target {
  def: KindDefinition;
  seed: Record<string, unknown>;
}

/** The collection path of a kind in a namespace (or cluster-wide). */
export function collectionPath(def: KindDefinition, namespace: string): string {
  const base = def.group === '' ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  return def.namespaced ? `${base}/namespaces/${namespace}/${def.plural}` : `${base}/${def.plural}`;
}

/** A minimal object of the kind, for kinds no example covers. */
export const minimal = (def: KindDefinition, name: string): Record<string, unknown> => ({
  apiVersion: apiVersionOf(def),
  kind: def.kind,
  metadata: { name },
});

const ODD_PATHS = [
  '/api/v1/namespaces/%zz/configmaps',
  '/api/v1/namespaces/default/configmaps/%',
  '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/a%E0%A4%A',
  '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/x/y/z/w',
  '/apis/kubevirt.io/v1/virtualmachines/%2e%2e',
  '/api/v1/namespaces/default/configmaps/' + 'n'.repeat(5000),
  '/apis/nothing.example/v1/things',
  '/apis/kubevirt.io',
  '/apis/kubevirt.io/v9',
  '/api',
  '/api/v2',
  '//api//v1//namespaces',
  '/api/v1/namespaces/default/configmaps/../../secrets',
  '/openapi/v3/apis/none/v1',
  '/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/nope/start',
  '/apis/subresources.kubevirt.io/v1/namespaces/%zz/virtualmachines/x/console',
  '/metrics',
  '/\u00e9',
];

const ODD_QUERIES = [
  'limit=-1',
  'limit=abc',
  'limit=99999999999999999999',
  'continue=garbage',
  'continue=eyJydiI6Im5vIn0',
  'labelSelector=a%20in%20(',
  'labelSelector=!!!',
  'fieldSelector=metadata.name%3D%3D%3Dx',
  'fieldSelector=spec.nothing=1',
  'fieldValidation=Bogus',
  'fieldValidation=Strict',
  'dryRun=All',
  'dryRun=Bogus',
  'propagationPolicy=Bogus',
  'gracePeriodSeconds=-5',
  'gracePeriodSeconds=x',
  'resourceVersion=abc',
  'watch=1&timeoutSeconds=0',
  'watch=1&resourceVersion=999999999&timeoutSeconds=0',
  'includeObject=Bogus',
  '%zz=%zz',
];

const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
];

function jsonPatch(rng: Rng): unknown {
  const paths = [
    '',
    '/',
    '/metadata',
    '/metadata/labels/a',
    '/spec',
    '/spec/0',
    '/-',
    '/~2',
    '/data/x',
    '/a/b/c',
  ];
  return Array.from({ length: 1 + rng.int(4) }, () => {
    const op: Record<string, unknown> = {
      op: rng.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']),
      path: rng.pick(paths),
    };
    if (rng.chance(0.8)) op['value'] = oddValue(rng);
    if (rng.chance(0.4)) op['from'] = rng.pick(paths);
    return rng.chance(0.05) ? oddValue(rng) : op;
  });
}

/** The body bytes of `value` in one of the encodings a client may use. */
function encode(value: unknown, rng: Rng): { body: Buffer; contentType: string } {
  switch (rng.int(6)) {
    case 0:
      return {
        body: Buffer.from(stringify(value, { aliasDuplicateObjects: false })),
        contentType: 'application/yaml',
      };
    case 1: {
      const text = JSON.stringify(value) ?? 'null';
      return { body: Buffer.from(text.slice(0, rng.int(text.length + 1))), contentType: 'application/json' };
    }
    case 2:
      return {
        body: Buffer.from(deepObjectText(90 + rng.int(7000))),
        contentType: 'application/json',
      };
    default:
      return { body: Buffer.from(JSON.stringify(value) ?? 'null'), contentType: 'application/json' };
  }
}

function protobufBody(rng: Rng): Buffer {
  const data = Object.fromEntries(
    Array.from({ length: rng.int(50) }, (_, i) => [`k${i}`, rng.pick(ODD_STRINGS)]),
  );
  const good = configMapProto(rng.pick(['pb', 'PB', '', 'x'.repeat(300)]), data);
  switch (rng.int(4)) {
    case 0:
      return good.subarray(0, rng.int(good.length));
    case 1: {
      const flipped = Buffer.from(good);
      for (let i = 0; i < 1 + rng.int(4); i++) flipped[4 + rng.int(flipped.length - 4)] = rng.int(256);
      return flipped;
    }
    case 2:
      return Buffer.concat([
        good.subarray(0, 4),
        field(1, field(2, 'Pod')),
        field(2, Buffer.from([0xff, 0xff])),
      ]);
    default:
      return good;
  }
}

/** A path segment; a lone surrogate goes as its (invalid) UTF-8 escape. */
function segment(name: string): string {
  try {
    return encodeURIComponent(name);
  } catch {
    return '%ED%A0%80';
  }
}

/** One request against `target`, drawn from every method, encoding and path shape. */
export function nextRequest(rng: Rng, targets: readonly Target[], namespace: string, n: number): FuzzRequest {
  const { def, seed } = rng.pick(targets);
  const collection = collectionPath(def, namespace);
  const name = rng.chance(0.7) ? `fuzz-${rng.int(8)}` : rng.pick(ODD_STRINGS);
  const item = `${collection}/${segment(name)}`;
  const query = rng.chance(0.3) ? `?${rng.pick(ODD_QUERIES)}` : '';
  const named = { ...seed, metadata: { ...(seed['metadata'] as object), name } };
  switch (n % 8) {
    case 0:
      return { method: 'POST', path: collection + query, ...encode(mutate(named, rng), rng) };
    case 1:
      return { method: 'PUT', path: item + query, ...encode(mutate(named, rng), rng) };
    case 2: {
      const contentType = rng.pick(PATCH_TYPES);
      const patch = contentType.includes('json-patch')
        ? jsonPatch(rng)
        : mutate(rng.chance(0.5) ? named : {}, rng);
      const body = contentType.includes('yaml') ? stringify(patch) : (JSON.stringify(patch) ?? 'null');
      return {
        method: 'PATCH',
        path: `${item}?fieldManager=fuzz${query.replace('?', '&')}`,
        contentType,
        body: Buffer.from(body),
      };
    }
    case 3:
      return {
        method: 'GET',
        path: (rng.chance(0.5) ? collection : item) + query,
        contentType: 'application/json',
      };
    case 4:
      return {
        method: 'POST',
        path: rng.pick([
          `/api/v1/namespaces/${namespace}/configmaps`,
          `/api/v1/namespaces/${namespace}/secrets`,
          '/api/v1/namespaces',
        ]),
        contentType: 'application/vnd.kubernetes.protobuf',
        body: protobufBody(rng),
      };
    case 5:
      return {
        method: rng.pick(['GET', 'DELETE', 'POST', 'PUT', 'PATCH', 'OPTIONS']),
        path: rng.pick(ODD_PATHS) + query,
        contentType: 'application/json',
        body: Buffer.from('{}'),
      };
    case 6:
      return {
        method: 'DELETE',
        path: item + query,
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(mutate({ propagationPolicy: 'Background' }, rng)) ?? 'null'),
      };
    default:
      return {
        method: 'POST',
        path: collection,
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(named)),
      };
  }
}
