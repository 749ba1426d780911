/**
 * JSON patch (RFC 6902), the `application/json-patch+json` PATCH body and what `kubectl patch
 * --type json` sends: a list of operations addressed by JSON pointers (RFC 6901). Operations apply
 * in order to a copy of the document; the first one that cannot apply stops the patch with a
 * PatchError naming it by its index in the list (counting from 0), its op and its path.
 */
import { MAX_DEPTH, MAX_OBJECT_BYTES, measure } from '../../api/limits.js';
import { cloneJson, hasOwn, isJsonObject, jsonEqual, setOwn } from './merge-patch.js';

/** A patch that cannot be applied; the API server answers it with 422 Invalid. */
export class PatchError extends Error {
  override readonly name = 'PatchError';
}

export type JsonPatchOp = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
const OPS: readonly JsonPatchOp[] = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

/** Why one operation failed; the loop in applyJsonPatch adds which operation it was. */
class OpFailure extends Error {}

/**
 * Returns `target` with every operation applied; `target` is left as it was.
 * Throws PatchError on a malformed operation, a path that does not resolve, or a failed `test`.
 */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = cloneJson(target);
  const budget = new Budget();
  patch.forEach((operation: unknown, index) => {
    try {
      doc = applyOperation(doc, operation, budget);
    } catch (err) {
      if (!(err instanceof OpFailure)) throw err;
      throw new PatchError(`operation ${index}${describe(operation)}: ${err.message}`);
    }
  });
  return doc;
}

/** ` (op path)` for the error message, with as much of it as the operation has. */
function describe(operation: unknown): string {
  if (!isJsonObject(operation) || typeof operation['op'] !== 'string') return '';
  const path = operation['path'];
  if (typeof path !== 'string') return ` (${operation['op']})`;
  return ` (${operation['op']} ${path === '' ? '""' : path})`;
}

/**
 * What the operations of one patch may write in all: a few repeated `copy` operations could
 * otherwise double the document each time and take the server's memory. Every value written is
 * measured (without recursion, stopping at what is left): it may not nest past the object depth
 * limit where it lands, and together they may not write more than twice the object size limit.
 */
class Budget {
  private left = 2 * MAX_OBJECT_BYTES;

  spend(path: readonly string[], value: unknown): void {
    const m = measure(value, { depth: MAX_DEPTH - path.length, bytes: this.left });
    if (m.exceeded === 'depth')
      throw new OpFailure(`the value would nest deeper than the limit of ${MAX_DEPTH} levels`);
    if (m.exceeded === 'bytes')
      throw new OpFailure(`the patch writes more than ${2 * MAX_OBJECT_BYTES} bytes in all`);
    this.left -= m.bytes;
  }
}

function applyOperation(doc: unknown, operation: unknown, budget: Budget): unknown {
  if (!isJsonObject(operation)) throw new OpFailure('must be an object with "op" and "path"');
  const op = operation['op'];
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    throw new OpFailure(`"op" must be one of ${OPS.join(', ')}, not ${JSON.stringify(op) ?? 'missing'}`);
  }
  const rawPath = operation['path'];
  if (typeof rawPath !== 'string') throw new OpFailure('"path" must be a string');
  const path = parseJsonPointer(rawPath);
  const written = (value: unknown): unknown => {
    budget.spend(path, value);
    return cloneJson(value);
  };
  switch (op as JsonPatchOp) {
    case 'add':
      return add(doc, path, written(valueOf(operation)));
    case 'remove':
      return remove(doc, path).doc;
    case 'replace':
      return replace(doc, path, written(valueOf(operation)));
    case 'move': {
      const { pointer, from } = fromOf(operation);
      if (from.length < path.length && from.every((token, i) => token === path[i])) {
        throw new OpFailure('cannot move a location into one of its own children');
      }
      const value = atFrom(pointer, () => get(doc, from));
      budget.spend(path, value);
      const removed = atFrom(pointer, () => remove(doc, from));
      return add(removed.doc, path, removed.value);
    }
    case 'copy': {
      const { pointer, from } = fromOf(operation);
      return add(doc, path, written(atFrom(pointer, () => get(doc, from))));
    }
    case 'test': {
      const expected = valueOf(operation);
      const actual = get(doc, path);
      if (!jsonEqual(actual, expected)) {
        throw new OpFailure(`test failed: expected ${brief(expected)}, found ${brief(actual)}`);
      }
      return doc;
    }
  }
}

function valueOf(operation: Record<string, unknown>): unknown {
  if (!hasOwn(operation, 'value')) throw new OpFailure('"value" is required');
  return operation['value'];
}

function fromOf(operation: Record<string, unknown>): { pointer: string; from: string[] } {
  const pointer = operation['from'];
  if (typeof pointer !== 'string') throw new OpFailure('"from" must be a string');
  return { pointer, from: atFrom(pointer, () => parseJsonPointer(pointer)) };
}

/** Runs a step on the `from` location, so that its failure says it was about `from`. */
function atFrom<T>(pointer: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (!(err instanceof OpFailure)) throw err;
    throw new OpFailure(`from ${pointer}: ${err.message}`);
  }
}

const brief = (value: unknown): string => {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** RFC 6901: `""` is the whole document, otherwise `/`-separated tokens with `~1` for `/` and `~0` for `~`. */
function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new OpFailure(`invalid JSON pointer ${JSON.stringify(pointer)}: must start with "/"`);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~([^01]|$)/.test(token)) {
        throw new OpFailure(
          `invalid JSON pointer ${JSON.stringify(pointer)}: "~" must be followed by 0 or 1`,
        );
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

type Container = Record<string, unknown> | unknown[];

/** The value at `path`; throws when it does not exist. */
function get(doc: unknown, path: readonly string[]): unknown {
  let node = doc;
  for (const token of path) {
    if (Array.isArray(node)) {
      const index = arrayIndex(node, token, false);
      node = node[index];
    } else if (isJsonObject(node) && hasOwn(node, token)) {
      node = node[token];
    } else {
      throw new OpFailure('path not found');
    }
  }
  return node;
}

/** The object or array holding the last token of `path`. */
function parentOf(doc: unknown, path: readonly string[]): Container {
  const parent = get(doc, path.slice(0, -1));
  if (Array.isArray(parent) || isJsonObject(parent)) return parent;
  throw new OpFailure('path not found');
}

function add(doc: unknown, path: readonly string[], value: unknown): unknown {
  const last = path.at(-1);
  if (last === undefined) return value;
  const parent = parentOf(doc, path);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(arrayIndex(parent, last, true), 0, value);
  } else {
    setOwn(parent, last, value);
  }
  return doc;
}

function replace(doc: unknown, path: readonly string[], value: unknown): unknown {
  const last = path.at(-1);
  if (last === undefined) return value;
  const parent = parentOf(doc, path);
  if (Array.isArray(parent)) {
    parent[arrayIndex(parent, last, false)] = value;
  } else {
    if (!hasOwn(parent, last)) throw new OpFailure('path not found');
    setOwn(parent, last, value);
  }
  return doc;
}

function remove(doc: unknown, path: readonly string[]): { doc: unknown; value: unknown } {
  const last = path.at(-1);
  if (last === undefined) throw new OpFailure('cannot remove the whole document');
  const parent = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const [value] = parent.splice(arrayIndex(parent, last, false), 1);
    return { doc, value };
  }
  if (!hasOwn(parent, last)) throw new OpFailure('path not found');
  const value = parent[last];
  delete parent[last];
  return { doc, value };
}

/** An RFC 6901 array index: digits without a leading zero, within bounds (or at the end, for add). */
function arrayIndex(array: readonly unknown[], token: string, allowEnd: boolean): number {
  if (token === '-') throw new OpFailure('"-" (the end of the array) can only be the target of add');
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OpFailure(`invalid array index ${JSON.stringify(token)}`);
  const index = Number(token);
  if (index > array.length || (index === array.length && !allowEnd)) {
    throw new OpFailure(`index ${index} is out of bounds (array length ${array.length})`);
  }
  return index;
}
