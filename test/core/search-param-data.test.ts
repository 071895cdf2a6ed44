/**
 * The committed token search-param table must be exactly what scripts/gen-search-params.mjs
 * produces from the installed definitions; expressions it cannot convert are skipped and listed,
 * never guessed at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESOURCE_TOKEN_PARAMS, TOKEN_SEARCH_PARAMS } from '../../functions/core/search-param-data';
import { describeCommittedIsFresh, useGenerator } from '../support/generator';

const gen = useGenerator('gen-search-params', 'functions/core/search-param-data.ts');
const { generate, searchParametersWith } = gen;

describeCommittedIsFresh(gen, {
  regenerate: 'npm run gen:search-params',
  upToDate: /search-param-data\.ts is up to date \(\d+ types, \d+ params, \d+ paths, \d+ skipped\)/,
  removed: 'param',
  // Observation loses `category`, the param the lab-only scopes depend on.
  find: "  Observation: {\n    category: [['category', 'CodeableConcept']],\n",
  replace: '  Observation: {\n',
});

describe('generator conversions', () => {
  test('an expression it cannot convert is skipped and listed, not fatal', () => {
    const sp = searchParametersWith('Observation-category', (p) => {
      p.expression = 'Observation.category.where(coding.exists())';
    });
    const out = join(gen.dir, 'skipped.ts');
    const run = generate('--search-parameters', sp, '--file', out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain(' *   Observation.category: branch "Observation.category.where(coding.exists())": unsupported FHIRPath step');
    expect(text).toMatch(/^ {2}Observation: \{\n {4}code: /m);
  });

  test.each([
    ['Observation.categori', /Observation\.category: Observation\.categori is not an element of Observation/],
    ['Observation.subject', /Observation\.category: subject is Reference, not a token datatype/],
    ['Observation.value', /Observation\.category: choice element Observation\.value\[x\] used without a type/],
  ])('skips %s with its reason', (expression, reason) => {
    const out = join(gen.dir, 'skip-reason.ts');
    const sp = searchParametersWith('Observation-category', (p) => {
      p.expression = expression;
    });
    expect(generate('--search-parameters', sp, '--file', out).status).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(reason);
    // category sorts first in Observation's row; it must be gone.
    expect(text).not.toMatch(/\n {2}Observation: \{\n {4}category:/);
  });

  test('choice casts: `.as(T)`, `(x as T)` and lower-case primitive types', () => {
    const sp = searchParametersWith('Observation-category', (p) => {
      p.expression = '(Observation.value as CodeableConcept) | Observation.value.as(boolean) | Observation.category';
    });
    const out = join(gen.dir, 'casts.ts');
    expect(generate('--search-parameters', sp, '--file', out).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(
      "    category: [['valueCodeableConcept', 'CodeableConcept'], ['valueBoolean', 'boolean'], ['category', 'CodeableConcept']],",
    );
  });

  test('a type-level param that would shadow a Resource-level one stops the run', () => {
    const sp = searchParametersWith('Resource-tag', (p) => {
      p.base = ['Resource', 'Observation'];
      p.expression = 'Resource.meta.tag | Observation.meta.tag';
    });
    const run = generate('--search-parameters', sp, '--file', join(gen.dir, 'never-written.ts'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Observation\._tag shadows Resource\._tag/);
  });
});

describe('committed table content', () => {
  test('types are sorted and every path is a plain element path', () => {
    const types = Object.keys(TOKEN_SEARCH_PARAMS);
    expect(types).toEqual([...types].sort());
    for (const [type, params] of Object.entries({ ...TOKEN_SEARCH_PARAMS, Resource: RESOURCE_TOKEN_PARAMS })) {
      expect(Object.keys(params).length).toBeGreaterThan(0);
      for (const paths of Object.values(params)) {
        expect(paths.length).toBeGreaterThan(0);
        for (const [path] of paths) expect(`${type}.${path}`).toMatch(/^[A-Z][A-Za-z]+(\.[a-z][A-Za-z0-9]*)+$/);
      }
    }
  });

  test('spot checks against FHIR R4', () => {
    expect(RESOURCE_TOKEN_PARAMS).toEqual({ _security: [['meta.security', 'Coding']], _tag: [['meta.tag', 'Coding']] });
    expect(TOKEN_SEARCH_PARAMS.Observation.category).toEqual([['category', 'CodeableConcept']]);
    expect(TOKEN_SEARCH_PARAMS.Observation.status).toEqual([['status', 'code']]);
    expect(TOKEN_SEARCH_PARAMS.Condition['clinical-status']).toEqual([['clinicalStatus', 'CodeableConcept']]);
    expect(TOKEN_SEARCH_PARAMS.MedicationRequest.code).toEqual([['medicationCodeableConcept', 'CodeableConcept']]);
    expect(TOKEN_SEARCH_PARAMS.Patient).toMatchObject({
      active: [['active', 'boolean']],
      identifier: [['identifier', 'Identifier']],
      telecom: [['telecom', 'ContactPoint']],
    });
    // Skipped: a where() filter we will not drop (it would widen the match), and _id by decision.
    expect(TOKEN_SEARCH_PARAMS.Patient).not.toHaveProperty('email');
    expect(RESOURCE_TOKEN_PARAMS).not.toHaveProperty('_id');
  });
});
