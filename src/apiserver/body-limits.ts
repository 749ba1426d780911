/**
 * Limits on request bodies, checked before a body is parsed: a byte limit per content type, and a
 * nesting scan of the raw JSON or YAML text that needs no recursion, so that no parser, validator
 * or patch algorithm ever meets a value nested deeper than the object limit (src/api/limits.ts).
 */
import { jsonNestsDeeperThan, MAX_DEPTH } from '../api/limits.js';
import { ApiError } from './errors.js';

/** Kubernetes refuses request bodies above 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** YAML costs far more memory to parse than JSON of the same size: its bodies get less room. */
export const MAX_YAML_BODY_BYTES = 1024 * 1024;
/** Operations in one JSON patch (kube-apiserver's maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

export const isYaml = (contentType: string | undefined): boolean => (contentType ?? '').includes('yaml');

/** The byte limit for a body of this content type. */
export const bodyLimit = (contentType: string | undefined): number =>
  isYaml(contentType) ? MAX_YAML_BODY_BYTES : MAX_BODY_BYTES;

/** The nesting a body may have: a JSON patch wraps values in an array of operation objects. */
export const bodyDepthLimit = (contentType: string | undefined): number =>
  (contentType ?? '').includes('json-patch') ? MAX_DEPTH + 2 : MAX_DEPTH;

export const tooDeep = (limit: number): ApiError =>
  new ApiError(
    'BadRequest',
    `the request body nests deeper than the limit of ${limit} levels of objects and arrays`,
  );

/** Refuses JSON text whose brackets nest deeper than `limit`. */
export function checkJsonDepth(body: Buffer, limit: number): void {
  if (jsonNestsDeeperThan(body, limit)) throw tooDeep(limit);
}

/**
 * Refuses YAML text that nests far deeper than `limit`, before the parser (which recurses) sees it:
 * per line, the block levels (indentation steps and compact `- ` entries) and the flow brackets
 * open. It may under-count a sequence written at its parent key's own indentation (at most one
 * level in two), and aliases nest what the text does not show: the decoded value's own check
 * (measure, in decodeBody) is the exact one. This one only keeps the parser's recursion bounded.
 */
export function checkYamlDepth(text: string, limit: number): void {
  const columns: number[] = [];
  let flow = 0;
  let blockDepth = 0;
  let scalarIndent: number | undefined;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const content = line.trim();
    if (scalarIndent !== undefined) {
      if (content === '' || indent > scalarIndent) continue;
      scalarIndent = undefined;
    }
    if (content === '' || content.startsWith('#')) continue;
    let start = indent;
    if (flow === 0) {
      // The stack holds the column of every node the line sits in; each compact `- ` entry opens
      // a node at the column after it (where a nested mapping's next keys would line up).
      while ((columns.at(-1) ?? -1) >= indent) columns.pop();
      while (/^[-?](\s|$)/.test(line.slice(start))) {
        columns.push(start);
        start += 1;
        while (line[start] === ' ' || line[start] === '\t') start++;
      }
      columns.push(start);
      // The innermost node is a collection level only when it is a mapping key; a scalar or a
      // flow collection (counted by the scan below) opens no block level.
      const rest = line.slice(start);
      const mapping = !/^[[{]/.test(rest) && /:(\s|$)/.test(rest);
      blockDepth = columns.length - (mapping ? 0 : 1);
    }
    const deepest = scanFlow(line, start, flow, flow > 0);
    flow = deepest.flow;
    if (blockDepth + deepest.max > limit) throw tooDeep(limit);
    if (flow === 0 && /[|>][-+0-9]*\s*(#.*)?$/.test(content)) scalarIndent = indent;
  }
}

/** Follows flow brackets on one line from `start`, skipping quoted scalars and comments. */
function scanFlow(line: string, start: number, flow: number, inFlow: boolean): { flow: number; max: number } {
  let max = flow;
  let quote: string | undefined;
  let tokenStart = true;
  for (let i = start; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quote !== undefined) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if ((c === '"' || c === "'") && tokenStart) quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
    else if ((c === '[' || c === '{') && (tokenStart || flow > 0 || inFlow)) max = Math.max(max, ++flow);
    else if ((c === ']' || c === '}') && flow > 0) flow--;
    tokenStart = c === ' ' || c === ',' || c === '[' || c === '{' || c === ':' || c === '-' || c === '?';
  }
  return { flow, max };
}
