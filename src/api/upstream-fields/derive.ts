/**
 * Upstream API parity as data. KubeVirt and CDI publish their API as a Swagger document
 * (`api/openapi-spec/swagger.json`); this module turns one into the list of field paths of each
 * kind (`spec.template.spec.domain.devices.disks[].bootOrder`), and walks our own schemas along
 * such a path, so a test can tell which upstream fields we implement, which we keep as NoEffect,
 * and which we would refuse. Run by scripts/upstream-fields.sh, which writes the lists committed
 * beside this file; the test is test/unit/api/upstream-fields.test.ts.
 */
import { NO_EFFECT } from '../schema.js';

/** The parts of a Swagger 2.0 schema the walk reads. */
export interface SwaggerSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, SwaggerSchema>;
  items?: SwaggerSchema;
  additionalProperties?: SwaggerSchema | boolean;
}

export interface SwaggerDocument {
  definitions: Record<string, SwaggerSchema>;
}

/** One release's field paths, as committed (src/api/upstream-fields/*.json). */
export interface UpstreamFields {
  repository: string;
  release: string;
  file: string;
  /** `group/version Kind` → field paths below the object (metadata and status left out). */
  kinds: Record<string, string[]>;
}

/** Types whose inside is not the kind's own API: ObjectMeta is checked by the server's own rules. */
const OPAQUE =
  /(^|\.)ObjectMeta$|\.apimachinery\.pkg\.(runtime\.RawExtension|util\.intstr\.IntOrString|api\.resource\.Quantity)$|(^|\.)Time$/;
const MAX_DEPTH = 24;

/** Every field path of `definition`, depth first, sorted; a type met again on its own path stops there. */
export function fieldPaths(doc: SwaggerDocument, definition: string): string[] {
  const out = new Set<string>();
  const walk = (schema: SwaggerSchema, path: string, seen: readonly string[]): void => {
    if (seen.length > MAX_DEPTH) return;
    if (schema.$ref !== undefined) {
      const name = schema.$ref.replace('#/definitions/', '');
      if (OPAQUE.test(name) || seen.includes(name)) return;
      const target = doc.definitions[name];
      if (target !== undefined) walk(target, path, [...seen, name]);
      return;
    }
    if (schema.items !== undefined) {
      out.add(`${path}[]`);
      walk(schema.items, `${path}[]`, seen);
      return;
    }
    if (typeof schema.additionalProperties === 'object') {
      out.add(`${path}.*`);
      walk(schema.additionalProperties, `${path}.*`, seen);
    }
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      if (path === '' && ['apiVersion', 'kind', 'metadata', 'status'].includes(name)) continue;
      const at = path === '' ? name : `${path}.${name}`;
      out.add(at);
      walk(child, at, seen);
    }
  };
  const root = doc.definitions[definition];
  if (root === undefined) throw new Error(`no definition ${definition}`);
  walk(root, '', [definition]);
  return [...out].sort();
}

/** What our schema says of one upstream path. */
export type Coverage = 'implemented' | 'no-effect' | 'missing';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [NO_EFFECT]?: boolean;
}

/** Follows `path` (as fieldPaths writes it) through one of our kind schemas. */
export function coverage(schema: unknown, path: string): Coverage {
  const steps = path.split(/\.|(?=\[\])/).filter((s) => s !== '');
  const follow = (s: JsonSchema, i: number, noEffect: boolean): Coverage => {
    const marked = noEffect || s[NO_EFFECT] === true;
    if (i === steps.length) return marked ? 'no-effect' : 'implemented';
    if (s['x-kubernetes-preserve-unknown-fields'] === true) return marked ? 'no-effect' : 'implemented';
    const alternatives = [...(s.anyOf ?? []), ...(s.allOf ?? [])];
    if (alternatives.length > 0) {
      const found = alternatives.map((a) => follow(a, i, marked)).filter((c) => c !== 'missing');
      if (found.length > 0) return found.includes('implemented') ? 'implemented' : 'no-effect';
    }
    const step = steps[i] ?? '';
    let next: JsonSchema | undefined;
    if (step === '[]') next = s.items;
    else if (step === '*')
      next = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    else next = s.properties?.[step];
    // A map of free keys accepts any key (labels, resource lists, node selectors).
    if (next === undefined && step !== '[]' && typeof s.additionalProperties === 'object')
      next = s.additionalProperties;
    return next === undefined ? 'missing' : follow(next, i + 1, marked);
  };
  return follow(schema as JsonSchema, 0, false);
}

/** The lists of one upstream document for the kinds named (`group/version Kind` → definition `version.Kind`). */
export function buildFields(
  doc: SwaggerDocument,
  source: Omit<UpstreamFields, 'kinds'>,
  kinds: readonly { group: string; version: string; kind: string }[],
): UpstreamFields {
  const out: Record<string, string[]> = {};
  for (const k of kinds) {
    const definition = `${k.version}.${k.kind}`;
    if (doc.definitions[definition] !== undefined)
      out[`${k.group}/${k.version} ${k.kind}`] = fieldPaths(doc, definition);
  }
  return { ...source, kinds: out };
}
