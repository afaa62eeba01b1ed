/** Keys that reach `Object.prototype` through naive merging (prototype pollution). */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A lone UTF-16 surrogate: with the `u` flag a valid pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Longest property path a message repeats back to the client: the names come from the client. */
const MAX_ECHOED_PATH = 100;

export interface InputLimits {
  readonly maxValues: number;
  readonly maxDepth: number;
}

/** `text` cut to `max` characters (at least 50), keeping its head and its last 40 characters. */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 41)}…${text.slice(-40)}`;
}

/**
 * Why a string may not go further, if it may not. PostgreSQL refuses NUL in text (SQLSTATE 22021, a
 * 500 if it gets that far), and a lone UTF-16 surrogate is no character at all: validator.js throws
 * on it (`isEmail` calls `encodeURI`), and a driver silently turns it into U+FFFD.
 */
function stringProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode';
  return undefined;
}

/**
 * The first reason to refuse a body, query or route parameters before any validator sees them, or
 * `undefined`. One walk, which stops at the first problem and never visits more than `maxValues`
 * values: the cost of a request is bounded by the limits, not by what the client sent.
 *
 * @param where `body`, `query` or `param`, for the messages.
 * @param root the parameter's name when the handler takes one field (`@Query('limit')`).
 */
export function findInputProblem(value: unknown, where: string, limits: InputLimits, root = ''): string | undefined {
  let budget = limits.maxValues;
  const tooMany = `${where} has more than ${limits.maxValues} values`;
  const label = (path: string) => (path ? `property ${shorten(path, MAX_ECHOED_PATH)}` : where);

  const visit = (node: unknown, depth: number, path: string): string | undefined => {
    if (typeof node === 'string') {
      const problem = stringProblem(node);
      return problem && `${label(path)} ${problem}`;
    }
    if (node === null || typeof node !== 'object') return undefined;
    if (depth > limits.maxDepth) return `${where} is nested more than ${limits.maxDepth} levels deep`;
    if (Array.isArray(node)) {
      // Checked before the walk, so a million-element array costs nothing.
      if (node.length > budget) return tooMany;
      budget -= node.length;
      for (let i = 0; i < node.length; i++) {
        const found = visit(node[i], depth + 1, path ? `${path}.${i}` : String(i));
        if (found) return found;
      }
      return undefined;
    }
    // Bytes (a raw body) are no values of a DTO. Any other object is walked: parsers do not all make
    // plain ones (Fastify's query is an object whose prototype is an empty null-prototype object).
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) return undefined;
    // `for...in` rather than Object.keys: the walk stops at the budget without listing every key first.
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      if (--budget < 0) return tooMany;
      const keyProblem = stringProblem(key);
      if (keyProblem) return `a property name ${keyProblem}`;
      const keyPath = path ? `${path}.${key}` : key;
      if (POLLUTING_KEYS.has(key)) return `property ${shorten(keyPath, MAX_ECHOED_PATH)} is not allowed`;
      const found = visit((node as Record<string, unknown>)[key], depth + 1, keyPath);
      if (found) return found;
    }
    return undefined;
  };

  return visit(value, 0, root);
}
