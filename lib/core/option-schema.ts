import { ZeroTrustConfigurationError } from './zero-trust-configuration.error.js';

/**
 * A tiny schema language for the module's options. Each feature writes its options once as a schema,
 * with the default beside each field; parsing checks every depth (unknown keys with a "did you mean",
 * wrong types, out-of-range numbers) and fills the defaults field by field, so setting one field never
 * drops its siblings. A security module must refuse a configuration it half-understands: a string
 * `'true'` where a boolean is expected, or a misspelled `threshhold`, would otherwise switch a defence
 * off in silence.
 */
export abstract class OptionSchema<T> {
  /** What the value should be, for error messages ("a whole number from 1 to 10"). */
  abstract readonly expected: string;

  /** Validates `value` (found at `path`, e.g. `lockout.threshold`) and returns it resolved. */
  abstract parse(value: unknown, path: string): T;

  protected fail(path: string, value: unknown, hint = ''): never {
    throw new ZeroTrustConfigurationError(`${path} must be ${this.expected} (got ${describe(value)}).${hint}`);
  }
}

export type Resolved<S> = S extends OptionSchema<infer T> ? T : never;
type Fields = Record<string, OptionSchema<unknown>>;
export type ResolvedFields<F extends Fields> = { -readonly [K in keyof F]: Resolved<F[K]> };

export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) {
    return `an instance of ${(value as object).constructor?.name ?? 'an unknown class'}`;
  }
  try {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(value);
  }
}

/** The candidate closest to `input` by edit distance (case-insensitive), if it is close enough to be a typo. */
export function closestName(input: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.ceil(input.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

export function didYouMean(input: string, candidates: readonly string[]): string {
  const hint = closestName(input, candidates);
  return hint ? ` Did you mean "${hint}"?` : ` Known options: ${candidates.join(', ')}.`;
}

class WithDefault<T> extends OptionSchema<T> {
  constructor(
    private readonly inner: OptionSchema<T>,
    private readonly fallback: () => T,
  ) {
    super();
  }
  get expected() {
    return this.inner.expected;
  }
  parse(value: unknown, path: string): T {
    return value === undefined ? this.fallback() : this.inner.parse(value, path);
  }
}

class Optional<T> extends OptionSchema<T | undefined> {
  constructor(private readonly inner: OptionSchema<T>) {
    super();
  }
  get expected() {
    return this.inner.expected;
  }
  parse(value: unknown, path: string): T | undefined {
    return value === undefined ? undefined : this.inner.parse(value, path);
  }
}

/** A field that may be left out: `undefined` stays `undefined`. */
export const optional = <T>(schema: OptionSchema<T>): OptionSchema<T | undefined> => new Optional(schema);

/** A field that falls back to `value` when left out (a function for values that must not be shared). */
export const defaulted = <T>(schema: OptionSchema<T>, value: T | (() => T)): OptionSchema<T> =>
  new WithDefault(schema, typeof value === 'function' ? (value as () => T) : () => value);

class NumberSchema extends OptionSchema<number> {
  constructor(
    readonly expected: string,
    private readonly check: (value: number) => boolean,
  ) {
    super();
  }
  parse(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || !this.check(value)) this.fail(path, value);
    return value;
  }
}

const range = (min: number, max?: number) => (max === undefined ? `>= ${min}` : `from ${min} to ${max}`);

/** A whole number within bounds. */
export const integer = (options: { min: number; max?: number; default?: number; unit?: string }): OptionSchema<number> => {
  const schema = new NumberSchema(
    `a whole number${options.unit ? ` of ${options.unit}` : ''} ${range(options.min, options.max)}`,
    (value) => Number.isInteger(value) && value >= options.min && (options.max === undefined || value <= options.max),
  );
  return options.default === undefined ? schema : defaulted(schema, options.default);
};

/**
 * A duration in seconds: the one unit of every duration option (fractions allowed, so tests and
 * caches can use 0.2 s). Stated once in the README.
 */
export const seconds = (options: { min: number; max?: number; default?: number }): OptionSchema<number> => {
  const schema = new NumberSchema(
    `a number of seconds ${range(options.min, options.max)}`,
    (value) => value >= options.min && (options.max === undefined || value <= options.max),
  );
  return options.default === undefined ? schema : defaulted(schema, options.default);
};

class BooleanSchema extends OptionSchema<boolean> {
  readonly expected = 'true or false';
  parse(value: unknown, path: string): boolean {
    // Never coerce: `'false'` is truthy and `'true'` is not `true`; either way a defence flips silently.
    if (typeof value !== 'boolean') this.fail(path, value);
    return value;
  }
}

export const boolean = (options: { default?: boolean } = {}): OptionSchema<boolean> =>
  options.default === undefined ? new BooleanSchema() : defaulted(new BooleanSchema(), options.default);

class StringSchema extends OptionSchema<string> {
  constructor(
    readonly expected: string,
    private readonly pattern?: RegExp,
  ) {
    super();
  }
  parse(value: unknown, path: string): string {
    if (typeof value !== 'string' || value.trim() === '' || (this.pattern && !this.pattern.test(value))) this.fail(path, value);
    return value;
  }
}

/** A non-empty string, optionally matching a pattern (described in `expected`). */
export const string = (options: { default?: string; pattern?: RegExp; expected?: string } = {}): OptionSchema<string> => {
  const schema = new StringSchema(options.expected ?? 'a non-empty string', options.pattern);
  return options.default === undefined ? schema : defaulted(schema, options.default);
};

class OneOf<T extends string | number | boolean> extends OptionSchema<T> {
  readonly expected: string;
  constructor(private readonly values: readonly T[]) {
    super();
    this.expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  parse(value: unknown, path: string): T {
    if (!this.values.includes(value as T)) {
      this.fail(path, value, typeof value === 'string' ? didYouMean(value, this.values.map(String)).replace(/ Known options.*$/, '') : '');
    }
    return value as T;
  }
}

export const oneOf = <const T extends string | number | boolean>(values: readonly T[], options: { default?: T } = {}): OptionSchema<T> =>
  options.default === undefined ? new OneOf(values) : defaulted(new OneOf(values), options.default);

class ArraySchema<T> extends OptionSchema<T[]> {
  readonly expected: string;
  constructor(
    private readonly item: OptionSchema<T>,
    private readonly minItems: number,
  ) {
    super();
    this.expected = `a list${minItems > 0 ? ` of at least ${minItems}` : ''} of ${item.expected}`;
  }
  parse(value: unknown, path: string): T[] {
    if (!Array.isArray(value) || value.length < this.minItems) this.fail(path, value);
    return value.map((item, i) => this.item.parse(item, `${path}[${i}]`));
  }
}

export const array = <T>(item: OptionSchema<T>, options: { minItems?: number; default?: T[] } = {}): OptionSchema<T[]> => {
  const schema = new ArraySchema(item, options.minItems ?? 0);
  return options.default === undefined ? schema : defaulted(schema, () => [...options.default!]);
};

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export class ObjectSchema<F extends Fields> extends OptionSchema<ResolvedFields<F>> {
  readonly expected: string;
  readonly names: readonly string[];
  constructor(
    readonly fields: F,
    expected?: string,
  ) {
    super();
    this.names = Object.keys(fields);
    this.expected = expected ?? `an object with ${this.names.join(', ')}`;
  }

  parse(value: unknown, path: string): ResolvedFields<F> {
    if (!isPlainObject(value)) this.fail(path, value);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(this.fields, key)) {
        throw new ZeroTrustConfigurationError(`unknown option "${path ? `${path}.` : ''}${key}".${didYouMean(key, this.names)}`);
      }
    }
    const resolved = {} as ResolvedFields<F>;
    for (const name of this.names) {
      (resolved as Record<string, unknown>)[name] = this.fields[name].parse(value[name], path ? `${path}.${name}` : name);
    }
    return resolved;
  }

  /** Checks only the fields of this schema in `value`, ignoring the others (the root options compose slices). */
  pick(value: Record<string, unknown>, path = ''): ResolvedFields<F> {
    const own = Object.fromEntries(this.names.filter((name) => Object.hasOwn(value, name)).map((name) => [name, value[name]]));
    return this.parse(own, path);
  }
}

/** An object of known fields; an empty object means "every default". */
export const object = <F extends Fields>(fields: F, options: { expected?: string } = {}): ObjectSchema<F> => new ObjectSchema(fields, options.expected);

class Disableable<T> extends OptionSchema<T | false> {
  constructor(private readonly inner: OptionSchema<T>) {
    super();
  }
  get expected() {
    return `false, true or ${this.inner.expected}`;
  }
  parse(value: unknown, path: string): T | false {
    if (value === false) return false;
    // `true` means "on, with the defaults": the obvious reading, and it never disables anything.
    if (value !== true && !isPlainObject(value)) this.fail(path, value);
    return this.inner.parse(value === true ? {} : value, path);
  }
}

/**
 * A feature that is on with its defaults unless set to `false`. `undefined`, `true` and `{}` all mean
 * "on with the defaults"; anything else is checked field by field.
 */
export const disableable = <T>(schema: OptionSchema<T>, options: { default: 'on' | 'off' }): OptionSchema<T | false> => {
  const inner = new Disableable(schema);
  return defaulted(inner, () => (options.default === 'off' ? false : schema.parse({}, '')));
};

class Custom<T> extends OptionSchema<T> {
  constructor(
    readonly expected: string,
    private readonly check: (value: unknown, path: string) => T | undefined,
  ) {
    super();
  }
  parse(value: unknown, path: string): T {
    const result = this.check(value, path);
    if (result === undefined) this.fail(path, value);
    return result;
  }
}

/** Anything else: `check` returns the resolved value, or `undefined` to reject it with `expected`. */
export const custom = <T>(expected: string, check: (value: unknown, path: string) => T | undefined): OptionSchema<T> =>
  new Custom(expected, check);

/** A record whose keys are free (header names, claim names) and whose values follow one schema. */
export const record = <T>(value: OptionSchema<T>, options: { key?: RegExp; keyExpected?: string } = {}): OptionSchema<Record<string, T>> =>
  custom(`an object of ${options.keyExpected ?? 'names'} to ${value.expected}`, (input, path) => {
    if (!isPlainObject(input)) return undefined;
    const out: Record<string, T> = {};
    for (const [key, item] of Object.entries(input)) {
      if (options.key && !options.key.test(key)) {
        throw new ZeroTrustConfigurationError(`${path}: "${key}" is not ${options.keyExpected ?? 'a valid name'}.`);
      }
      out[key] = value.parse(item, `${path}["${key}"]`);
    }
    return out;
  });

/** A class (constructor function), e.g. an enhancer to register instead of the module's own. */
export const classOf = <T>(base: abstract new (...args: never[]) => T, what: string): OptionSchema<new (...args: never[]) => T> =>
  custom(`a class extending ${base.name} (${what})`, (value) =>
    typeof value === 'function' && (value === base || value.prototype instanceof base) ? (value as new (...args: never[]) => T) : undefined,
  );

/** A group of fields that may be left out entirely: then, or with `{}`, every field takes its default. */
export const section = <F extends Fields>(fields: F): OptionSchema<ResolvedFields<F>> => {
  const schema = object(fields);
  return defaulted(schema, () => schema.parse({}, ''));
};
