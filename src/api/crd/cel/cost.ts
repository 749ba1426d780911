/**
 * A worst-case estimate of what one rule costs, made when the CRD is written, as kube-apiserver
 * estimates it: every loop (all, exists, map, filter…) runs over the largest list, map or string
 * its schema allows — `maxItems`, `maxProperties`, `maxLength`, or, when the schema sets no bound,
 * as many as fit in the largest object the server accepts. A rule whose estimate passes the limit
 * is refused with upstream's hint (add maxItems…); so is a schema whose rules, times the number of
 * places each can run, pass the total limit. The runtime meter (meter.ts) still bounds every request.
 */
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { parse } from '@bufbuild/cel';
import { MAX_OBJECT_BYTES } from '../../limits.js';
import type { JsonSchema } from '../../validate.js';
import { childSchema } from './values.js';

/** Estimated cost of one evaluation of one rule (kube-apiserver's StaticEstimatedCostLimit). */
export const RULE_COST_LIMIT = 10_000_000;
/** Estimated cost of all the rules of one schema, each times its cardinality (StaticEstimatedCRDCostLimit). */
export const SCHEMA_COST_LIMIT = 100_000_000;

const EQUALITY = new Set(['_==_', '_!=_']);
/** Functions whose work grows with the size of a string or list they are given. */
const LINEAR = new Set([
  ...EQUALITY,
  '@in',
  '_+_',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'find',
  'findAll',
  'split',
  'replace',
  'lowerAscii',
  'upperAscii',
  'trim',
  'join',
  'indexOf',
  'lastIndexOf',
  'substring',
  'isSorted',
  'sum',
  'min',
  'max',
  'string',
  'url',
  'isURL',
  'getQuery',
]);
/** Functions whose result can be as large as their input (a string or list built from it). */
const PRODUCES_SIZED = new Set([
  '_+_',
  'split',
  'replace',
  'lowerAscii',
  'upperAscii',
  'trim',
  'join',
  'substring',
  'findAll',
  'string',
]);

/** An expression's value as the estimate sees it: its schema when known, and its largest size. */
interface Shape {
  schema?: JsonSchema;
  /** Elements of a list, entries of a map, characters of a string. */
  size: number;
  /** The shape of an element, when the value is a list built by the rule (map, filter). */
  element?: Shape;
}

const num = (s: JsonSchema | undefined, k: string): number | undefined =>
  typeof s?.[k] === 'number' ? s[k] : undefined;

/** The largest size the schema allows: its bound, or what fits in the largest object. */
export function maxSize(s: JsonSchema | undefined): number {
  if (s?.type === 'array') return num(s, 'maxItems') ?? Math.floor(MAX_OBJECT_BYTES / 2);
  if (s?.type === 'string') return num(s, 'maxLength') ?? MAX_OBJECT_BYTES;
  if (s?.type === 'object' && s.properties === undefined)
    return num(s, 'maxProperties') ?? Math.floor(MAX_OBJECT_BYTES / 4);
  if (s?.type === 'object') return Object.keys(s.properties ?? {}).length;
  if (s?.type === 'integer' || s?.type === 'number' || s?.type === 'boolean') return 0;
  return s?.['x-kubernetes-int-or-string'] === true
    ? (num(s, 'maxLength') ?? MAX_OBJECT_BYTES)
    : MAX_OBJECT_BYTES;
}

const shapeOf = (schema: JsonSchema | undefined): Shape =>
  schema === undefined ? { size: MAX_OBJECT_BYTES } : { schema, size: maxSize(schema) };

/** The shape of one element (or key, for a map) of a collection. */
function elementOf(c: Shape): Shape {
  if (c.element !== undefined) return c.element;
  const s = c.schema;
  if (s?.type === 'array') return shapeOf(s.items);
  if (s?.type === 'object') return { size: 253 };
  return { size: MAX_OBJECT_BYTES };
}

/** Worst-case cost of one evaluation of `source` on a node of `schema`; 0 when it does not parse. */
export function estimateCost(source: string, schema: JsonSchema): number {
  try {
    return estimate(
      parse(source).expr,
      new Map([
        ['self', shapeOf(schema)],
        ['oldSelf', shapeOf(schema)],
      ]),
    ).cost;
  } catch {
    return 0;
  }
}

interface Estimate {
  cost: number;
  shape: Shape;
}

const cap = (n: number): number => Math.min(n, Number.MAX_SAFE_INTEGER);

function estimate(e: Expr | undefined, scope: ReadonlyMap<string, Shape>): Estimate {
  const unknown: Shape = { size: MAX_OBJECT_BYTES };
  if (e === undefined) return { cost: 0, shape: unknown };
  const k = e.exprKind;
  switch (k.case) {
    case 'constExpr':
      return {
        cost: 0,
        shape: { size: k.value.constantKind.case === 'stringValue' ? k.value.constantKind.value.length : 0 },
      };
    case 'identExpr':
      return { cost: 1, shape: scope.get(k.value.name) ?? unknown };
    case 'selectExpr': {
      const operand = estimate(k.value.operand, scope);
      return { cost: operand.cost + 1, shape: shapeOf(childSchema(operand.shape.schema, k.value.field)) };
    }
    case 'listExpr': {
      const parts = k.value.elements.map((x) => estimate(x, scope));
      return { cost: cap(parts.reduce((a, p) => a + p.cost, 1)), shape: { size: parts.length } };
    }
    case 'structExpr':
      return { cost: k.value.entries.length + 1, shape: { size: k.value.entries.length } };
    case 'callExpr': {
      const target = k.value.target === undefined ? undefined : estimate(k.value.target, scope);
      const args = k.value.args.map((x) => estimate(x, scope));
      const all = target === undefined ? args : [target, ...args];
      const inputs = all.reduce((a, x) => a + x.cost, 0);
      const first = all[0]?.shape;
      if (k.value.function === '_[_]' && first !== undefined)
        return {
          cost: inputs + 1,
          shape:
            first.schema?.type === 'array'
              ? shapeOf(first.schema.items)
              : shapeOf(childSchema(first.schema, '')),
        };
      const sizes = all.map((x) => x.shape.size);
      const name = k.value.function;
      // Functions that walk a string or a list (equality stops at the shorter one); others are O(1).
      const walked = !LINEAR.has(name) ? 0 : EQUALITY.has(name) ? Math.min(...sizes) : Math.max(0, ...sizes);
      const produced = PRODUCES_SIZED.has(name) ? Math.max(0, ...sizes) : 0;
      return { cost: cap(inputs + 1 + walked / 10), shape: { size: produced } };
    }
    case 'comprehensionExpr': {
      const c = k.value;
      const range = estimate(c.iterRange, scope);
      const element = elementOf(range.shape);
      const init = estimate(c.accuInit, scope);
      const accumulator: Shape = { size: range.shape.size, element: unknown };
      const inner = new Map(scope);
      inner.set(c.iterVar, element);
      if (c.iterVar2 !== '') inner.set(c.iterVar2, unknown);
      inner.set(c.accuVar, accumulator);
      const step = estimate(c.loopCondition, inner).cost + estimate(c.loopStep, inner).cost + 1;
      const result = estimate(c.result, new Map([...scope, [c.accuVar, accumulator]]));
      return {
        cost: cap(range.cost + init.cost + range.shape.size * step + result.cost),
        shape: result.shape,
      };
    }
    default:
      return { cost: 1, shape: unknown };
  }
}

/** Upstream's wording for an estimate over its limit. */
export function overBudget(what: string, cost: number, limit: number): string {
  const factor = cost / limit;
  const shown = factor > 100 ? 'more than 100x' : `${factor.toFixed(1)}x`;
  return `${what} exceeds budget by factor of ${shown} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}
