/**
 * Compiles the CEL rules of a CRD (`x-kubernetes-validations`) with @bufbuild/cel, Buf's CEL
 * evaluator for ECMAScript. It was chosen over @marcbachmann/cel-js because it follows cel-go (what
 * kube-apiserver runs) and its conformance suite, runs `matches` on an RE2 engine (linear time, so a
 * hostile pattern cannot hold the server; cel-js uses backtracking JavaScript regexes), and hands
 * back the standard `cel.expr` syntax tree, which this module walks.
 *
 * The walk refuses, when the CRD is written, a rule that calls a function or names a variable the
 * environment does not provide (the evaluator would only notice at run time), and bounds every
 * comprehension (all, exists, map, filter…): each iteration first asks the evaluation's meter
 * (meter.ts), and once the budget is spent every loop stops at its next step, so a rule can never
 * hold the API server, whatever the size of the object it runs on.
 */
import { celEnv, celFunc, CelScalar, parse, plan, type CelResult } from '@bufbuild/cel';
import { create } from '@bufbuild/protobuf';
import { Expr_ComprehensionSchema, ExprSchema, type Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { kubernetesFunctions } from './library.js';
import { chargeStep } from './meter.js';

/** A rule ready to run: bind `self` (and `oldSelf` for a transition rule). */
export interface CompiledExpression {
  readonly source: string;
  /** Reads `oldSelf`: a transition rule, run only on update where an old value exists. */
  readonly usesOldSelf: boolean;
  run(bindings: { self: unknown; oldSelf?: unknown }): CelResult;
}

const BUDGET_FUNCTION = '@hikube_step';
/** Characters of a rule or messageExpression: parsing is linear but not cheap (~10 µs a character). */
export const MAX_RULE_LENGTH = 10_000;
/** Nesting of a rule's syntax tree; cel-go's parser stops at a similar depth. */
export const MAX_RULE_DEPTH = 64;

const env = celEnv({
  funcs: [...kubernetesFunctions, celFunc(BUDGET_FUNCTION, [], CelScalar.BOOL, chargeStep)],
  variables: { self: CelScalar.DYN, oldSelf: CelScalar.DYN },
});

/** Operators the evaluator handles itself rather than through its function table. */
const BUILTIN_CALLS = new Set([
  '_&&_',
  '_||_',
  '_?_:_',
  '_[_]',
  '@not_strictly_false',
  '__not_strictly_false__',
]);
/** Type names a rule may compare with `type(x) == int`. */
const TYPE_NAMES = new Set([
  'bool',
  'int',
  'uint',
  'double',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
]);

const known = (name: string): boolean => BUILTIN_CALLS.has(name) || env.funcs.find(name) !== undefined;

/** The rule compiled, or the compiler's message as kube-apiserver words it. */
export function compileExpression(source: string): CompiledExpression | string {
  if (source.length > MAX_RULE_LENGTH)
    return `compilation failed: ERROR: the expression is longer than ${MAX_RULE_LENGTH} characters`;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return `compilation failed: ERROR: ${err instanceof Error ? err.message : String(err)}`;
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const where = (e: Expr): string => {
    const offset = positions[String(e.id)] ?? 0;
    const before = source.slice(0, offset).split('\n');
    return `<input>:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
  };
  const state = { usesOldSelf: false, error: '', nextId: maxId(parsed.expr) + 1n };
  const fail = (e: Expr, message: string): void => {
    if (state.error === '') state.error = `compilation failed: ERROR: ${where(e)}: ${message}`;
  };

  const visit = (e: Expr | undefined, scope: ReadonlySet<string>, depth: number): void => {
    if (e === undefined || state.error !== '') return;
    if (depth > MAX_RULE_DEPTH) return fail(e, `the expression nests deeper than ${MAX_RULE_DEPTH} levels`);
    const k = e.exprKind;
    switch (k.case) {
      case 'identExpr':
        if (k.value.name === 'oldSelf' && !scope.has('oldSelf')) state.usesOldSelf = true;
        if (
          !scope.has(k.value.name) &&
          !TYPE_NAMES.has(k.value.name) &&
          k.value.name !== 'self' &&
          k.value.name !== 'oldSelf'
        )
          fail(e, `undeclared reference to '${k.value.name}' (in container '')`);
        return;
      case 'selectExpr':
        return visit(k.value.operand, scope, depth + 1);
      case 'callExpr': {
        const { target } = k.value;
        const name = k.value.function;
        const qualified =
          target?.exprKind.case === 'identExpr' && !scope.has(target.exprKind.value.name)
            ? `${target.exprKind.value.name}.${name}`
            : undefined;
        if (qualified === 'cel.bind') return bind(e, k.value.args, scope, depth);
        if (qualified !== undefined && known(qualified)) {
          for (const a of k.value.args) visit(a, scope, depth + 1);
          return;
        }
        if (!known(name)) return fail(e, `undeclared reference to '${name}' (in container '')`);
        visit(target, scope, depth + 1);
        for (const a of k.value.args) visit(a, scope, depth + 1);
        return;
      }
      case 'listExpr':
        for (const a of k.value.elements) visit(a, scope, depth + 1);
        return;
      case 'structExpr':
        if (k.value.messageName !== '') return fail(e, `undeclared reference to '${k.value.messageName}'`);
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value, scope, depth + 1);
          visit(entry.value, scope, depth + 1);
        }
        return;
      case 'comprehensionExpr': {
        const c = k.value;
        visit(c.iterRange, scope, depth + 1);
        visit(c.accuInit, scope, depth + 1);
        const inner = new Set([...scope, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
        visit(c.loopCondition, inner, depth + 1);
        visit(c.loopStep, inner, depth + 1);
        visit(c.result, new Set([...scope, c.accuVar]), depth + 1);
        // Every iteration asks the meter first: once the budget is spent, every loop stops.
        c.loopCondition = call('_&&_', [call(BUDGET_FUNCTION, []), c.loopCondition ?? constTrue()]);
        return;
      }
      default:
        return;
    }
  };
  // `cel.bind(x, init, body)` is a macro in cel-go: a comprehension over no elements whose
  // accumulator `x` starts at `init` and whose result is `body`. @bufbuild/cel has no such macro, so
  // the call is rewritten into that comprehension here.
  const bind = (e: Expr, args: Expr[], scope: ReadonlySet<string>, depth: number): void => {
    const [name, init, body] = args;
    if (args.length !== 3 || name?.exprKind.case !== 'identExpr')
      return fail(e, 'cel.bind() variable name must be a simple identifier');
    const value = create(Expr_ComprehensionSchema, {
      iterVar: '#unused',
      iterRange: create(ExprSchema, { id: state.nextId++, exprKind: { case: 'listExpr', value: {} } }),
      accuVar: name.exprKind.value.name,
      ...(init !== undefined ? { accuInit: init } : {}),
      loopCondition: constTrue(),
      loopStep: create(ExprSchema, {
        id: state.nextId++,
        exprKind: { case: 'identExpr', value: { name: name.exprKind.value.name } },
      }),
      ...(body !== undefined ? { result: body } : {}),
    });
    e.exprKind = { case: 'comprehensionExpr', value };
    visit(e, scope, depth);
  };
  const call = (fn: string, args: Expr[]): Expr =>
    create(ExprSchema, { id: state.nextId++, exprKind: { case: 'callExpr', value: { function: fn, args } } });
  const constTrue = (): Expr =>
    create(ExprSchema, {
      id: state.nextId++,
      exprKind: { case: 'constExpr', value: { constantKind: { case: 'boolValue', value: true } } },
    });

  visit(parsed.expr, new Set(), 0);
  if (state.error !== '') return state.error;
  let program: (bindings: Record<string, unknown>) => CelResult;
  try {
    program = plan(env, parsed) as never;
  } catch (err) {
    return `compilation failed: ERROR: ${err instanceof Error ? err.message : String(err)}`;
  }
  return {
    source,
    usesOldSelf: state.usesOldSelf,
    run: (bindings) => program(bindings),
  };
}

/** The largest node id, so that nodes added by the walk get ids of their own. */
function maxId(root: Expr): bigint {
  let max = 0n;
  const stack: unknown[] = [root];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (typeof v !== 'object' || v === null) continue;
    const id = (v as { id?: unknown }).id;
    if (typeof id === 'bigint' && id > max) max = id;
    for (const child of Object.values(v)) if (typeof child === 'object') stack.push(child);
  }
  return max;
}
