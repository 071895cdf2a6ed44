/**
 * core/schema.ts replaced valibot in core/settings.ts. The valibot schemas it replaced are kept
 * here as the oracle: for valid configuration and for random damage to it (a key removed, a key
 * added, a value replaced by any JSON), the new module accepts and refuses exactly what valibot
 * did, with the same message naming the same key. The JSON Schema file is checked byte for byte
 * in settings-schema.test.ts.
 */
import fc from 'fast-check';
import * as v from 'valibot';
import { array, described, literal, minItems, nonEmpty, optional, parseOrThrow, strictObject, string, variant } from '../../functions/core/schema';
import { DEFAULT_SETTINGS, parseDiscovery, parseSettings, parseTrustedIssuers } from '../../functions/core/settings';
import { parseScopeString } from '../../functions/core/scopes';

// ---- the valibot schemas of functions/core/settings.ts before core/schema.ts (commit cafc713, with main's appLaunch) ----
const resourceScope = v.pipe(
  v.string(),
  v.check((s) => {
    const parsed = parseScopeString(s);
    return parsed.errors.length === 0 && parsed.resource.length === 1;
  }, (issue) => `${JSON.stringify(issue.input)} is not a SMART resource scope`),
);
const scopeList = v.array(resourceScope);
const nonEmptyV = v.pipe(v.string(), v.nonEmpty('must not be empty'));
const ROLE = v.strictObject({ defaultScopes: scopeList, ceilingScopes: scopeList, group: nonEmptyV });
const SETTINGS = v.strictObject({
  roles: v.strictObject({ patient: ROLE, practitioner: ROLE, guardian: ROLE }),
  systemCeilingScopes: scopeList,
  sharedResourceTypes: v.array(nonEmptyV),
});
const ISSUERS = v.pipe(
  v.array(
    v.variant('kind', [
      v.strictObject({ kind: v.literal('cognito'), userPoolId: nonEmptyV }),
      v.strictObject({ kind: v.literal('cognito-compatible'), issuer: nonEmptyV, jwksUri: nonEmptyV }),
      v.strictObject({ kind: v.literal('fhirgate-exchange'), issuer: nonEmptyV, jwksUri: nonEmptyV, audience: nonEmptyV }),
    ], 'is not a trusted issuer (kind cognito, cognito-compatible or fhirgate-exchange)'),
  ),
  v.minLength(1, 'must list at least one trusted issuer'),
);
const DISCOVERY = v.looseObject({
  issuer: nonEmptyV,
  tokenEndpoint: nonEmptyV,
  jwksUri: nonEmptyV,
  backendServices: v.boolean(),
  clientSecrets: v.boolean(),
  scopesSupported: v.array(v.string()),
  cognito: v.optional(v.strictObject({ issuer: nonEmptyV, tokenEndpoint: nonEmptyV })),
  appLaunch: v.optional(v.strictObject({ authorizationEndpoint: nonEmptyV })),
});

function valibotParse(schema: v.GenericSchema, value: unknown, prefix: string): unknown {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = (issue.path ?? []).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`)).join('').replace(/^\./, '');
  const describe = (): string => {
    if (issue.kind !== 'schema' || issue.type === 'variant') return issue.message;
    if (issue.expected === 'never') return 'is not a known key';
    if (issue.received === 'undefined' && issue.expected?.startsWith('"')) return 'is required';
    return `expected ${issue.expected}, got ${issue.received}`;
  };
  throw new TypeError(`${prefix} at ${path || '(root)'}: ${describe()}`);
}
// ----------------------------------------------------------------------------------------------

function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (err) {
    return { threw: (err as Error).constructor.name, message: (err as Error).message };
  }
}

const VALID_ISSUERS = [
  { kind: 'cognito', userPoolId: 'us-east-1_abc' },
  { kind: 'cognito-compatible', issuer: 'http://127.0.0.1:9229/local', jwksUri: 'http://127.0.0.1:9229/local/.well-known/jwks.json' },
  { kind: 'fhirgate-exchange', issuer: 'https://x/auth', jwksUri: 'https://x/auth/jwks.json', audience: 'https://x/fhir' },
];
const VALID_DISCOVERY = {
  issuer: 'https://x/auth',
  tokenEndpoint: 'https://x/auth/token',
  jwksUri: 'https://x/auth/jwks.json',
  backendServices: true,
  clientSecrets: false,
  scopesSupported: ['patient/*.rs', 'openid'],
  cognito: { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc', tokenEndpoint: 'https://d/oauth2/token' },
  appLaunch: { authorizationEndpoint: 'https://x/auth/authorize' },
};

/** Every path to a value inside `value` (objects and arrays), outermost first. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...paths(item, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, item] of Object.entries(value)) out.push(...paths(item, [...prefix, k]));
  return out;
}

type Damage = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

/** A deep copy of `value` with one damage done at `path`. */
function damaged(value: unknown, path: (string | number)[], damage: Damage): unknown {
  const copy = JSON.parse(JSON.stringify(value));
  if (path.length === 0) return damage.kind === 'replace' ? damage.value : copy;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path[path.length - 1]!;
  if (damage.kind === 'replace') parent[last] = damage.value;
  else if (damage.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) parent[last][damage.key] = damage.value;
  return copy;
}

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('', 'patient/*.rs', 'openid', 'system/*.sr', 'cognito', 'fhirgate-exchange', true, [])) }),
  fc.constant({ kind: 'delete' as const }),
  fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom('extra', 'kind', 'cognito', 'group', 'constructor', 'toString'), value: fc.jsonValue({ maxDepth: 1 }) }),
);

describe.each([
  ['settings', DEFAULT_SETTINGS, (x: unknown) => parseSettings(x), (x: unknown) => valibotParse(SETTINGS, x, 'invalid fhirgate settings')],
  ['trusted issuers', VALID_ISSUERS, (x: unknown) => parseTrustedIssuers(x, 'ISSUERS'), (x: unknown) => valibotParse(ISSUERS, x, 'ISSUERS')],
  ['discovery', VALID_DISCOVERY, (x: unknown) => parseDiscovery(x, 'DISCOVERY'), (x: unknown) => valibotParse(DISCOVERY, x, 'DISCOVERY')],
] as const)('%s: as valibot decided', (_name, valid, parse, oracle) => {
  test('the valid value passes, unchanged', () => {
    expect(outcome(() => parse(structuredClone(valid)))).toEqual(outcome(() => oracle(structuredClone(valid))));
    expect(parse(structuredClone(valid))).toEqual(valid);
  });

  test('any one damage is refused (or accepted) alike, naming the same key', () => {
    const all = paths(valid);
    fc.assert(
      fc.property(fc.constantFrom(...all), damage, (path, d) => {
        const value = damaged(valid, path, d);
        expect(outcome(() => parse(value))).toEqual(outcome(() => oracle(value)));
      }),
      { numRuns: 400 },
    );
  });
});

describe('the combinators', () => {
  const shape = described(strictObject({ name: string(nonEmpty('must not be empty')), tags: optional(array(string(), minItems(1, 'needs a tag'))) }), { title: 't' });

  test.each<[string, unknown, string]>([
    ['not an object', null, 'x at (root): expected Object, got null'],
    ['an array is an object with unknown keys', [], 'x at name: is required'],
    ['a number', 5, 'x at (root): expected Object, got 5'],
    ['missing key', {}, 'x at name: is required'],
    ['wrong type inside', { name: 1 }, 'x at name: expected string, got 1'],
    ['empty string', { name: '' }, 'x at name: must not be empty'],
    ['array rule', { name: 'a', tags: [] }, 'x at tags: needs a tag'],
    ['array item', { name: 'a', tags: ['a', {}] }, 'x at tags[1]: expected string, got Object'],
    ['unknown key', { name: 'a', nme: 'b' }, 'x at nme: is not a known key'],
  ])('%s', (_name, value, message) => {
    expect(() => parseOrThrow(shape, value, 'x')).toThrow(new TypeError(message));
  });

  test('optional keys may be missing; the value comes back as given', () => {
    const value = { name: 'a' };
    expect(parseOrThrow(shape, value, 'x')).toBe(value);
  });

  test('a variant reports an unknown discriminator at its key', () => {
    const s = variant('kind', [strictObject({ kind: literal('a') }), strictObject({ kind: literal('b'), n: string() })], 'not a or b');
    expect(() => parseOrThrow(s, { kind: 'c' }, 'x')).toThrow('x at kind: not a or b');
    expect(() => parseOrThrow(s, 'a', 'x')).toThrow('x at (root): not a or b');
    expect(() => parseOrThrow(s, { kind: 'b' }, 'x')).toThrow('x at n: is required');
    expect(parseOrThrow(s, { kind: 'a' }, 'x')).toEqual({ kind: 'a' });
  });

  test('JSON Schema: types, required keys, closed objects, rules that have a form, documentation', () => {
    expect(shape.jsonSchema()).toEqual({
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, tags: { type: 'array', items: { type: 'string' }, minItems: 1 } },
      required: ['name'],
      additionalProperties: false,
      title: 't',
    });
  });
});
