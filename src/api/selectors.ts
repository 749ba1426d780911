/**
 * Label and field selectors, as kubectl sends them in `?labelSelector=` and `?fieldSelector=` and
 * as controllers hold them in `spec.selector` (metav1.LabelSelector). The grammar and the key and
 * value rules follow apimachinery's pkg/labels and pkg/fields, so a selector kubectl accepts against
 * a real cluster means the same here, and one it rejects fails here with a SelectorError (400).
 */

/** A selector that does not parse or names an invalid key or value. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

export type LabelOperator =
  'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'GreaterThan' | 'LessThan';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  /** Sorted by key; every one must match. None means everything matches. */
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** The canonical string form, e.g. `app=web,tier in (a,b)`. */
  toString(): string;
}

/** metav1.LabelSelector. */
export interface LabelSelectorObject {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementObject[] | undefined;
}

export interface LabelSelectorRequirementObject {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  matches(object: unknown): boolean;
  toString(): string;
}

// ---- label selectors: lexer -------------------------------------------------------------------

type TokenKind = 'id' | 'end' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOL_TOKENS = new Set<string>(['(', ')', ',', '!', '=', '==', '!=', '>', '<']);
const isSpace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < input.length && isSpace(input.charAt(pos))) pos++;
    if (pos >= input.length) break;
    if (SYMBOLS.has(input.charAt(pos))) {
      // The longest run of symbols that is still an operator, as apimachinery's scanner does.
      let text = '';
      while (
        pos < input.length &&
        SYMBOLS.has(input.charAt(pos)) &&
        SYMBOL_TOKENS.has(text + input.charAt(pos))
      ) {
        text += input.charAt(pos++);
      }
      tokens.push({ kind: text as TokenKind, text });
    } else {
      const start = pos;
      while (pos < input.length && !SYMBOLS.has(input.charAt(pos)) && !isSpace(input.charAt(pos))) pos++;
      const text = input.slice(start, pos);
      tokens.push({ kind: text === 'in' || text === 'notin' ? text : 'id', text });
    }
  }
  tokens.push({ kind: 'end', text: 'end of string' });
  return tokens;
}

// ---- label selectors: parser ------------------------------------------------------------------

/**
 * Parses `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, joined by
 * commas. The empty string selects everything.
 */
export function parseLabelSelector(input: string): LabelSelector {
  const fail = (message: string): never => {
    throw new SelectorError(`invalid label selector ${JSON.stringify(input)}: ${message}`);
  };
  const tokens = lex(input);
  let pos = 0;
  const peek = (): Token =>
    tokens[Math.min(pos, tokens.length - 1)] ?? { kind: 'end', text: 'end of string' };
  const next = (): Token => {
    const token = peek();
    pos++;
    return token;
  };
  /** In a value position, `in` and `notin` are plain words. */
  const isWord = (token: Token): boolean =>
    token.kind === 'id' || token.kind === 'in' || token.kind === 'notin';
  const found = (token: Token): string => (token.kind === 'end' ? 'end of string' : `'${token.text}'`);

  const parseValues = (): string[] => {
    const open = next();
    if (open.kind !== '(') fail(`found ${found(open)}, expected '('`);
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const token = next();
      if (token.kind === ')') {
        if (expectValue) values.push('');
        return values;
      }
      if (token.kind === ',') {
        if (expectValue) values.push('');
        expectValue = true;
      } else if (isWord(token) && expectValue) {
        values.push(token.text);
        expectValue = false;
      } else {
        fail(`found ${found(token)}, expected ${expectValue ? "a value, ',' or ')'" : "',' or ')'"}`);
      }
    }
  };

  const parseRequirement = (): LabelRequirement => {
    const negated = peek().kind === '!';
    if (negated) next();
    const keyToken = next();
    if (!isWord(keyToken)) fail(`found ${found(keyToken)}, expected a label key`);
    const key = keyToken.text;
    const after = peek().kind;
    if (negated || after === ',' || after === 'end') {
      return requirement(key, negated ? 'DoesNotExist' : 'Exists', [], fail);
    }
    const op = next();
    switch (op.kind) {
      case 'in':
        return requirement(key, 'In', parseValues(), fail);
      case 'notin':
        return requirement(key, 'NotIn', parseValues(), fail);
      case '=':
      case '==':
      case '!=':
      case '>':
      case '<': {
        const operator = OPERATOR_OF_SYMBOL[op.kind];
        const value = peek();
        if (value.kind === ',' || value.kind === 'end') return requirement(key, operator, [''], fail);
        if (!isWord(next())) fail(`found ${found(value)}, expected a value`);
        return requirement(key, operator, [value.text], fail);
      }
      default:
        return fail(`found ${found(op)}, expected one of =, ==, !=, in, notin, >, <, ',' or end of string`);
    }
  };

  const requirements: LabelRequirement[] = [];
  while (peek().kind !== 'end') {
    requirements.push(parseRequirement());
    const separator = next();
    if (separator.kind === 'end') break;
    if (separator.kind !== ',') fail(`found ${found(separator)}, expected ',' or end of string`);
    if (peek().kind === 'end') fail("found end of string, expected a requirement after ','");
  }
  return labelSelector(requirements);
}

const OPERATOR_OF_SYMBOL = {
  '=': 'Equals',
  '==': 'Equals',
  '!=': 'NotEquals',
  '>': 'GreaterThan',
  '<': 'LessThan',
} as const;

/** Builds the selector for metav1.LabelSelector. `null`/`undefined` selects nothing; `{}` selects everything. */
export function labelSelectorFromObject(selector: LabelSelectorObject | null | undefined): LabelSelector {
  if (selector === null || selector === undefined) return NOTHING;
  const fail = (message: string): never => {
    throw new SelectorError(`invalid label selector: ${message}`);
  };
  const requirements = Object.entries(selector.matchLabels ?? {}).map(([key, value]) =>
    requirement(key, 'Equals', [value], fail, 'matchLabels'),
  );
  for (const [i, expression] of (selector.matchExpressions ?? []).entries()) {
    const operator = expression.operator;
    if (operator !== 'In' && operator !== 'NotIn' && operator !== 'Exists' && operator !== 'DoesNotExist') {
      fail(
        `matchExpressions[${i}].operator: ${JSON.stringify(operator)} is not one of In, NotIn, Exists, DoesNotExist`,
      );
    }
    requirements.push(
      requirement(
        expression.key,
        operator as LabelOperator,
        [...(expression.values ?? [])],
        fail,
        `matchExpressions[${i}]`,
      ),
    );
  }
  return labelSelector(requirements);
}

/** Checks one requirement the way apimachinery's NewRequirement does. */
function requirement(
  key: string,
  operator: LabelOperator,
  values: string[],
  fail: (m: string) => never,
  at?: string,
): LabelRequirement {
  const prefix = at === undefined ? '' : `${at}: `;
  const keyProblem = labelKeyProblem(key);
  if (keyProblem !== undefined) fail(`${prefix}key ${JSON.stringify(key)} is invalid: ${keyProblem}`);
  const count = values.length;
  if ((operator === 'In' || operator === 'NotIn') && count === 0) {
    fail(`${prefix}operator ${operator} on ${JSON.stringify(key)} needs at least one value`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && count !== 0) {
    fail(`${prefix}operator ${operator} on ${JSON.stringify(key)} takes no values`);
  }
  for (const value of values) {
    const problem = labelValueProblem(value);
    if (problem !== undefined) {
      fail(`${prefix}value ${JSON.stringify(value)} for key ${JSON.stringify(key)} is invalid: ${problem}`);
    }
    if ((operator === 'GreaterThan' || operator === 'LessThan') && !/^[0-9]+$/.test(value)) {
      fail(
        `${prefix}value ${JSON.stringify(value)} for key ${JSON.stringify(key)} must be an integer for > and <`,
      );
    }
  }
  return { key, operator, values: [...new Set(values)].sort() };
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'Equals':
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotEquals':
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'GreaterThan':
    case 'LessThan': {
      if (value === undefined || !/^[0-9]+$/.test(value)) return false;
      const [actual, bound] = [Number(value), Number(r.values[0])];
      return r.operator === 'GreaterThan' ? actual > bound : actual < bound;
    }
  }
}

const SYMBOL_OF = { Equals: '=', NotEquals: '!=', GreaterThan: '>', LessThan: '<' } as const;

function requirementString(r: LabelRequirement): string {
  const values = r.values.join(',');
  switch (r.operator) {
    case 'In':
      return `${r.key} in (${values})`;
    case 'NotIn':
      return `${r.key} notin (${values})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    default:
      return `${r.key}${SYMBOL_OF[r.operator]}${values}`;
  }
}

function labelSelector(requirements: LabelRequirement[]): LabelSelector {
  const sorted = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements: sorted,
    matches: (labels) => sorted.every((r) => requirementMatches(r, labels ?? {})),
    toString: () => sorted.map(requirementString).join(','),
  };
}

const NOTHING: LabelSelector = { requirements: [], matches: () => false, toString: () => '<none>' };

// ---- label keys and values (apimachinery's IsQualifiedName and IsValidLabelValue) ------------------

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_RULE =
  "must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'";

function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return "must be a name, optionally prefixed by a DNS subdomain and '/'";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix === '') return "the prefix before '/' must not be empty";
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `the prefix ${JSON.stringify(prefix)} must be a lowercase DNS subdomain of 253 characters or less`;
    }
  }
  if (name === undefined || name === '') return 'the name part must not be empty';
  if (name.length > 63 || !NAME.test(name)) return `the name part ${NAME_RULE}`;
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return `a label value ${NAME_RULE}`;
}

// ---- field selectors ------------------------------------------------------------------------------

/**
 * Parses `path=value`, `path==value`, `path!=value` joined by commas, where path is a dotted path
 * into the object (`metadata.name`, `status.phase`, `spec.nodeName`). In values `\,`, `\=` and `\\`
 * stand for `,`, `=` and `\`. The empty string selects everything.
 */
export function parseFieldSelector(input: string): FieldSelector {
  const fail = (message: string): never => {
    throw new SelectorError(`invalid field selector ${JSON.stringify(input)}: ${message}`);
  };
  const requirements: FieldRequirement[] = [];
  for (const rawTerm of splitTerms(input)) {
    const term = rawTerm.trim();
    if (term === '') continue;
    const match = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (match === null) {
      return fail(
        `can't understand ${JSON.stringify(term)}: expected field=value, field==value or field!=value`,
      );
    }
    const [, rawField = '', op = '=', rawValue = ''] = match;
    const field = rawField.trim();
    if (field === '' || field.split('.').some((segment) => segment === '' || /\s/.test(segment))) {
      fail(`${JSON.stringify(field)} is not a field path such as metadata.name`);
    }
    requirements.push({
      field,
      operator: op === '!=' ? '!=' : '=',
      value: unescapeValue(rawValue.trim(), fail),
    });
  }
  requirements.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  return {
    requirements,
    matches: (object) =>
      requirements.every((r) => (fieldValue(object, r.field) === r.value) === (r.operator === '=')),
    toString: () => requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(','),
  };
}

/** Splits on commas not escaped by a backslash. */
function splitTerms(input: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input.charAt(i);
    if (ch === '\\' && i + 1 < input.length) {
      current += ch + input.charAt(++i);
    } else if (ch === ',') {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms;
}

function unescapeValue(value: string, fail: (message: string) => never): string {
  let result = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch === '\\') {
      const escaped = value.charAt(++i);
      if (escaped !== '\\' && escaped !== ',' && escaped !== '=') {
        fail(`invalid escape sequence "\\${escaped}" in value`);
      }
      result += escaped;
    } else if (ch === '=' || ch === ',') {
      fail(`unescaped "${ch}" in value ${JSON.stringify(value)} (write \\${ch})`);
    } else {
      result += ch;
    }
  }
  return result;
}

const escapeValue = (value: string): string => value.replace(/[\\,=]/g, (ch) => `\\${ch}`);

/** The field at a dotted path, as a string: missing or null is "", scalars are their text. */
function fieldValue(object: unknown, path: string): string {
  let node: unknown = object;
  for (const segment of path.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, segment)) {
      return '';
    }
    node = (node as Record<string, unknown>)[segment];
  }
  if (typeof node === 'string') return node;
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  return node === undefined || node === null ? '' : (JSON.stringify(node) ?? '');
}
