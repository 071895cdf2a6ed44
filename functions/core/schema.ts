/**
 * Shapes of the configuration that arrives as JSON (settings, trusted issuers, discovery values):
 * each shape checks a value and names the first bad key, and describes itself as JSON Schema
 * (draft-07) for docs/settings.schema.json, so one definition (core/settings.ts) feeds both.
 *
 * A dozen combinators, kept to what settings.ts uses. They replaced valibot, whose messages and
 * JSON Schema output they keep (`expected Object, got "x"`, `is required`, `is not a known key`;
 * what @valibot/to-json-schema wrote): valibot weighed 7.8 KB of every Lambda bundle, more than
 * the token service's budget left (lib/function-bundle.ts). Pure: no I/O.
 */

/** Where in the value an issue is: object keys and array indexes, outermost first. */
export type Path = (string | number)[];

/** The first thing wrong with a value. */
export interface Issue {
  readonly path: Path;
  readonly message: string;
}

export interface Shape<T> {
  /** The first issue with `value` (checks stop there), or undefined when it has this shape. */
  issue(value: unknown): Issue | undefined;
  /** This shape as JSON Schema; rules without a JSON Schema form (`check`) are left out. */
  jsonSchema(): Record<string, unknown>;
  /** The checked type (for inference only; never set). */
  readonly type?: T;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

/** A rule on a value already of the right JSON type. */
export interface Rule<T> {
  /** The message when `value` breaks the rule, else undefined. */
  broken(value: T): string | undefined;
  /** The JSON Schema keywords of the rule (none for custom checks). */
  readonly json?: Record<string, unknown>;
}

/** How a value of the wrong type is reported: valibot's wording, and its `_stringify` of the value. */
function wrongType(expected: string, value: unknown): Issue {
  const received =
    typeof value === 'string'
      ? `"${value}"`
      : typeof value === 'object' || typeof value === 'function'
        ? ((value && Object.getPrototypeOf(value)?.constructor?.name) ?? 'null')
        : String(value);
  return { path: [], message: `expected ${expected}, got ${received}` };
}

function at(key: string | number, issue: Issue | undefined): Issue | undefined {
  return issue && { path: [key, ...issue.path], message: issue.message };
}

function ruled<T>(value: T, rules: readonly Rule<T>[]): Issue | undefined {
  for (const rule of rules) {
    const message = rule.broken(value);
    if (message !== undefined) return { path: [], message };
  }
  return undefined;
}

function withRules(json: Record<string, unknown>, rules: readonly { readonly json?: Record<string, unknown> }[]): Record<string, unknown> {
  return Object.assign(json, ...rules.map((r) => r.json ?? {}));
}

/** A string, with rules. */
export function string(...rules: Rule<string>[]): Shape<string> {
  return {
    issue: (value) => (typeof value === 'string' ? ruled(value, rules) : wrongType('string', value)),
    jsonSchema: () => withRules({ type: 'string' }, rules),
  };
}

export function boolean(): Shape<boolean> {
  return {
    issue: (value) => (typeof value === 'boolean' ? undefined : wrongType('boolean', value)),
    jsonSchema: () => ({ type: 'boolean' }),
  };
}

/** Exactly this string (a variant's discriminator). */
export function literal<const L extends string>(literal: L): Shape<L> {
  return {
    issue: (value) => (value === literal ? undefined : wrongType(`"${literal}"`, value)),
    jsonSchema: () => ({ const: literal }),
  };
}

/** An array of `item`, with rules on the array. */
export function array<T>(item: Shape<T>, ...rules: Rule<NoInfer<readonly T[]>>[]): Shape<T[]> {
  return {
    issue(value) {
      if (!Array.isArray(value)) return wrongType('Array', value);
      for (let i = 0; i < value.length; i++) {
        const issue = at(i, item.issue(value[i]));
        if (issue) return issue;
      }
      return ruled(value, rules);
    },
    jsonSchema: () => withRules({ type: 'array', items: item.jsonSchema() }, rules),
  };
}

type Entries = Record<string, Shape<unknown>>;
type OptionalKeys<E extends Entries> = { [K in keyof E]: undefined extends Infer<E[K]> ? K : never }[keyof E];
type ObjectOf<E extends Entries> = { [K in Exclude<keyof E, OptionalKeys<E>>]: Infer<E[K]> } & { [K in OptionalKeys<E>]?: Infer<E[K]> };

const OPTIONAL = Symbol('optional');

/** A key that may be missing. */
export function optional<T>(shape: Shape<T>): Shape<T | undefined> {
  return Object.assign({ issue: (value: unknown) => (value === undefined ? undefined : shape.issue(value)), jsonSchema: () => shape.jsonSchema() }, { [OPTIONAL]: true });
}

/** An object shape keeps its entries: a variant picks its option by one of them. */
interface ObjectShape<T> extends Shape<T> {
  readonly entries: Entries;
}

function objectShape<E extends Entries>(entries: E, strict: boolean): ObjectShape<ObjectOf<E>> {
  return {
    entries,
    issue(value) {
      if (!value || typeof value !== 'object') return wrongType('Object', value);
      const record = value as Record<string, unknown>;
      for (const [key, shape] of Object.entries(entries)) {
        if (!(key in record)) {
          if (OPTIONAL in shape) continue;
          return { path: [key], message: 'is required' };
        }
        const issue = at(key, shape.issue(record[key]));
        if (issue) return issue;
      }
      if (strict) for (const key in record) if (!Object.prototype.hasOwnProperty.call(entries, key)) return { path: [key], message: 'is not a known key' };
      return undefined;
    },
    jsonSchema() {
      const keys = Object.keys(entries);
      return {
        type: 'object',
        properties: Object.fromEntries(keys.map((k) => [k, entries[k]!.jsonSchema()])),
        required: keys.filter((k) => !(OPTIONAL in entries[k]!)),
        ...(strict ? { additionalProperties: false } : {}),
      };
    },
  };
}

/** An object with exactly these keys (an unknown key is a typo, never ignored). */
export function strictObject<E extends Entries>(entries: E): ObjectShape<ObjectOf<E>> {
  return objectShape(entries, true);
}

/** An object with at least these keys; others pass through. */
export function looseObject<E extends Entries>(entries: E): ObjectShape<ObjectOf<E> & Record<string, unknown>> {
  return objectShape(entries, false) as ObjectShape<ObjectOf<E> & Record<string, unknown>>;
}

/**
 * One of several object shapes, chosen by the literal at `key`. A value whose `key` matches none
 * is reported with `message` (at `key`), as is a value that is not an object.
 */
export function variant<const S extends readonly ObjectShape<object>[]>(key: string, options: S, message: string): Shape<Infer<S[number]>> {
  return {
    issue(value) {
      if (!value || typeof value !== 'object') return { path: [], message };
      const discriminator = (value as Record<string, unknown>)[key];
      const option = options.find((o) => o.entries[key]?.issue(discriminator) === undefined);
      return option ? option.issue(value) : { path: [key], message };
    },
    jsonSchema: () => ({ anyOf: options.map((o) => o.jsonSchema()) }),
  };
}

/** The same shape, documented: `description` (and `title`) in its JSON Schema. */
export function described<T>(shape: Shape<T>, text: { readonly description?: string; readonly title?: string }): Shape<T> {
  return { ...shape, jsonSchema: () => ({ ...shape.jsonSchema(), ...text }) };
}

/** Not empty (a string or an array); JSON Schema `minLength: 1` for strings. */
export function nonEmpty(message: string): Rule<string> {
  return { broken: (value) => (value.length === 0 ? message : undefined), json: { minLength: 1 } };
}

/** At least `min` items. */
export function minItems(min: number, message: string): Rule<readonly unknown[]> {
  return { broken: (value) => (value.length < min ? message : undefined), json: { minItems: min } };
}

/** A rule JSON Schema cannot say (the SMART scope grammar): checked at run time only. */
export function check<T>(ok: (value: T) => boolean, message: (value: T) => string): Rule<T> {
  return { broken: (value) => (ok(value) ? undefined : message(value)) };
}

/**
 * The value, typed, when it has the shape; otherwise a TypeError `prefix at a.b[0].c: message`
 * naming the first bad key (bad configuration is a deployment mistake, never a default).
 */
export function parseOrThrow<T>(shape: Shape<T>, value: unknown, prefix: string): T {
  const issue = shape.issue(value);
  if (!issue) return value as T;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  throw new TypeError(`${prefix} at ${path || '(root)'}: ${issue.message}`);
}
