/**
 * Contract suite for SMART scope checking: grants (OR of ANDs) and intersections that never widen.
 * Cases name the scopes they start from; the property tests at the end cover the rest.
 */
import fc from 'fast-check';
import { grantFor, intersectScopes, scopesOfContext } from '../../functions/core/scope-check';
import type { Grant } from '../../functions/core/scope-check';
import { formatScope, parseScope, PERMISSIONS } from '../../functions/core/scopes';
import type { Permission, ResourceScope, ScopeConstraint, ScopeContext } from '../../functions/core/scopes';

/** Parse each scope text, insisting it is a resource scope. */
function scopes(...raws: string[]): ResourceScope[] {
  return raws.map((raw) => {
    const p = parseScope(raw);
    if (!p.ok || p.kind !== 'resource') throw new Error(`expected a resource scope: ${raw}`);
    return p.scope;
  });
}

/** Constraints as compact `name=value` strings, for readable expectations. */
function alts(grant: Grant): string[][] | string {
  return grant.kind === 'constrained' ? grant.alternatives.map((a) => a.map((c) => `${c.name}=${c.value}`)) : grant.kind;
}

describe('grantFor', () => {
  test.each([
    // [scopes, type, letter, expected]
    [[], 'Observation', 'r', 'none'],
    [['patient/Observation.rs'], 'Observation', 'r', 'all'],
    [['patient/Observation.rs'], 'Observation', 'c', 'none'],
    [['patient/Observation.rs'], 'Condition', 'r', 'none'],
    [['patient/Condition.r', 'patient/Observation.s'], 'Observation', 's', 'all'], // union
    [['patient/Condition.r', 'patient/Observation.s'], 'Observation', 'r', 'none'],
    [['patient/*.rs'], 'Condition', 'r', 'all'], // wildcard covers every type
    [['patient/*.rs'], 'Condition', 'u', 'none'],
    [['patient/Observation.rs'], '*', 'r', 'none'], // asking for every type needs a '*' scope
    [['patient/*.r'], '*', 'r', 'all'],
    [['patient/Observation.rs'], 'observation', 'r', 'none'], // types are case-sensitive
    [['patient/Observation.rs?category=laboratory'], 'Observation', 'r', [['category=laboratory']]],
    [['patient/Observation.rs?category=laboratory&status=final'], 'Observation', 's', [['category=laboratory', 'status=final']]],
    [
      ['patient/Observation.rs?category=laboratory', 'patient/Observation.r?category=vital-signs'],
      'Observation', 'r', [['category=laboratory'], ['category=vital-signs']],
    ],
    // the second scope does not hold 's', so only the first alternative survives
    [
      ['patient/Observation.rs?category=laboratory', 'patient/Observation.r?category=vital-signs'],
      'Observation', 's', [['category=laboratory']],
    ],
    // a wider scope absorbs constrained ones, in either order
    [['patient/Observation.rs?category=laboratory', 'patient/Observation.r'], 'Observation', 'r', 'all'],
    [['patient/*.r', 'patient/Observation.rs?category=laboratory'], 'Observation', 'r', 'all'],
    // ...but only for the letters it holds
    [['patient/*.r', 'patient/Observation.rs?category=laboratory'], 'Observation', 's', [['category=laboratory']]],
    [['patient/*.rs?_security=N'], 'Encounter', 'r', [['_security=N']]],
    // identical alternatives count once, whatever their order
    [
      ['patient/Observation.rs?a=1&b=2', 'patient/Observation.r?b=2&a=1'],
      'Observation', 'r', [['a=1', 'b=2']],
    ],
  ] as [string[], string, Permission, string | string[][]][])('%j grants %s.%s: %j', (raws, type, letter, expected) => {
    expect(alts(grantFor(scopes(...raws), type, letter))).toEqual(expected);
  });
});

describe('intersectScopes', () => {
  test.each([
    // [left, right, expected result texts]
    [['patient/*.rs'], ['patient/Observation.r'], ['patient/Observation.r']],
    [['patient/Observation.r'], ['patient/*.rs'], ['patient/Observation.r']],
    [['patient/*.read'], ['patient/*.cruds'], ['patient/*.rs']],
    [['patient/Observation.rs?category=laboratory'], ['patient/*.cruds'], ['patient/Observation.rs?category=laboratory']],
    [['patient/*.cruds'], ['patient/Observation.rs?category=laboratory'], ['patient/Observation.rs?category=laboratory']],
    [['patient/Observation.rs?category=laboratory'], ['patient/Observation.r?status=final'], ['patient/Observation.r?category=laboratory&status=final']],
    [['patient/Observation.rs?category=laboratory'], ['patient/Observation.rs?category=laboratory'], ['patient/Observation.rs?category=laboratory']],
    // different contexts share nothing
    [['patient/Observation.rs'], ['user/Observation.rs'], []],
    [['system/*.cruds'], ['patient/*.cruds'], []],
    // different types share nothing; disjoint permissions share nothing
    [['patient/Observation.rs'], ['patient/Condition.rs'], []],
    [['patient/Observation.rs'], ['patient/Observation.cud'], []],
    [['patient/*.write'], ['patient/*.read'], []],
    [[], ['patient/*.cruds'], []],
    [['patient/*.cruds'], [], []],
    // pairwise, with duplicates folded
    [
      ['patient/Observation.rs', 'patient/Condition.r'],
      ['patient/*.r', 'patient/Observation.s'],
      ['patient/Observation.r', 'patient/Observation.s', 'patient/Condition.r'],
    ],
    [['patient/*.rs', 'patient/*.read'], ['patient/Observation.rs'], ['patient/Observation.rs']],
    [['patient/Observation.r?a=1&b=2'], ['patient/Observation.r?b=2&a=1'], ['patient/Observation.r?a=1&b=2']],
  ])('%j ∩ %j = %j', (left, right, expected) => {
    const result = intersectScopes(scopes(...left), scopes(...right));
    expect(result.map((s) => s.raw)).toEqual(expected);
    for (const s of result) {
      expect(s.version).toBe(2);
      expect(s.raw).toBe(formatScope(s));
    }
  });
});

describe('scopesOfContext', () => {
  const all = scopes('patient/*.rs', 'user/Practitioner.r', 'system/Observation.rs');
  test.each([
    [['patient'], ['patient/*.rs']],
    [['patient', 'user'], ['patient/*.rs', 'user/Practitioner.r']],
    [['system'], ['system/Observation.rs']],
    [[], []],
  ] as [ScopeContext[], string[]][])('%j', (contexts, expected) => {
    expect(scopesOfContext(all, contexts).map((s) => s.raw)).toEqual(expected);
  });
});

// ---- properties -------------------------------------------------------------------------------

const TYPES = ['Observation', 'Condition', 'Patient'] as const;
const CONTEXTS: readonly ScopeContext[] = ['patient', 'user', 'system'];
const FACTS: readonly ScopeConstraint[] = [
  { name: 'category', value: 'laboratory' },
  { name: 'category', value: 'vital-signs' },
  { name: 'status', value: 'final' },
];

const constraintArb = fc.constantFrom(...FACTS);
const scopeArb: fc.Arbitrary<ResourceScope> = fc
  .record({
    context: fc.constantFrom(...CONTEXTS),
    resourceType: fc.constantFrom<string>('*', ...TYPES),
    permissions: fc.subarray([...PERMISSIONS], { minLength: 1 }),
    constraints: fc.array(constraintArb, { maxLength: 2 }),
  })
  .map(({ context, resourceType, permissions, constraints }) => {
    const partial = { context, resourceType, permissions: new Set(permissions), constraints, version: 2 as const };
    return { ...partial, raw: formatScope({ ...partial, raw: '' }) };
  });
const listArb = fc.array(scopeArb, { maxLength: 5 });
const queryArb = fc.record({
  context: fc.constantFrom(...CONTEXTS),
  type: fc.constantFrom(...TYPES),
  letter: fc.constantFrom(...PERMISSIONS),
  // the search-parameter values a candidate resource has
  facts: fc.subarray([...FACTS]),
});

/** Would `grant` let through a resource having exactly these name=value facts? */
function allows(grant: Grant, facts: readonly ScopeConstraint[]): boolean {
  if (grant.kind !== 'constrained') return grant.kind === 'all';
  return grant.alternatives.some((and) => and.every((c) => facts.some((f) => f.name === c.name && f.value === c.value)));
}

describe('intersectScopes never widens (fast-check)', () => {
  test("grantFor(L ∩ R) is 'none' whenever grantFor(L) or grantFor(R) is 'none'", () => {
    fc.assert(
      fc.property(listArb, listArb, queryArb, (left, right, { type, letter }) => {
        const l = grantFor(left, type, letter).kind;
        const r = grantFor(right, type, letter).kind;
        const both = grantFor(intersectScopes(left, right), type, letter).kind;
        return !(l === 'none' || r === 'none') || both === 'none';
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  test('within one context, L ∩ R allows a resource exactly when L and R both do', () => {
    fc.assert(
      fc.property(listArb, listArb, queryArb, (left, right, { context, type, letter, facts }) => {
        const inContext = (list: readonly ResourceScope[]) => scopesOfContext(list, [context]);
        const l = allows(grantFor(inContext(left), type, letter), facts);
        const r = allows(grantFor(inContext(right), type, letter), facts);
        const both = allows(grantFor(inContext(intersectScopes(left, right)), type, letter), facts);
        return both === (l && r);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  test('formatScope text of every result parses back to the same scope', () => {
    fc.assert(
      fc.property(listArb, listArb, (left, right) =>
        intersectScopes(left, right).every((s) => {
          const p = parseScope(s.raw);
          return p.ok && p.kind === 'resource' && formatScope(p.scope) === s.raw;
        }),
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
