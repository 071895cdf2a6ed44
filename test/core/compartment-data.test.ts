/**
 * The committed compartment table must be exactly what scripts/gen-compartment.mjs produces from
 * the installed definitions, and the generator must refuse what it cannot convert.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NEVER_IN_PATIENT_COMPARTMENT, OWNING_PARAMS, PATIENT_COMPARTMENT } from '../../functions/core/compartment-data';
import { describeCommittedIsFresh, R4, useGenerator } from '../support/generator';

const gen = useGenerator('gen-compartment', 'functions/core/compartment-data.ts');
const { generate } = gen;

/** Writes a copy of search-parameters.json with one SearchParameter's expression replaced. */
function searchParametersWith(id: string, expression: string): string {
  return gen.searchParametersWith(id, (sp) => {
    sp.expression = expression;
  });
}

describeCommittedIsFresh(gen, {
  regenerate: 'npm run gen:compartment',
  upToDate: /compartment-data\.ts is up to date \(\d+ types, \d+ paths\)/,
  removed: 'path',
  find: "Observation: { subject: ['subject'], performer: ['performer'] }",
  replace: "Observation: { subject: ['subject'] }",
});

describe('generator conversions', () => {
  test('choice type `value.as(Reference)` becomes valueReference; `(x as Reference)` is x', () => {
    const sp = searchParametersWith(
      'QuestionnaireResponse-author',
      'QuestionnaireResponse.item.answer.value.as(Reference) | ' +
        '(QuestionnaireResponse.author as Reference) | Observation.focus',
    );
    const out = join(gen.dir, 'choice.ts');
    const run = generate('--search-parameters', sp, '--file', out);
    expect(run.stderr).toBe('');
    const text = readFileSync(out, 'utf8');
    // Only the QuestionnaireResponse branches are used for QuestionnaireResponse.
    expect(text).toContain(
      "QuestionnaireResponse: { subject: ['subject'], author: ['item.answer.valueReference', 'author'] },",
    );
    expect(text).toContain("Observation: { subject: ['subject'], performer: ['performer'] },");
  });

  test('`.ofType(Reference)` and the `as` operator without parentheses', () => {
    const sp = searchParametersWith(
      'Observation-performer',
      'Observation.performer as Reference | Observation.focus.ofType(Reference)',
    );
    const out = join(gen.dir, 'oftype.ts');
    expect(generate('--search-parameters', sp, '--file', out).status).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain("Observation: { subject: ['subject'], performer: ['performer', 'focus'] },");
  });

  test.each([
    ['Observation.subject.resolve()', /unsupported FHIRPath step "resolve\(\)"/],
    // Only `resolve() is Patient` may be dropped: any other filter selects something else.
    ['Observation.subject.where(resolve() is Group)', /unsupported FHIRPath step "where\(resolve\(\) is Group\)"/],
    ['Observation.subject.where(reference.startsWith(\'Patient\'))', /unsupported FHIRPath step/],
    ['Observation.subjekt', /Observation\.subjekt is not an element of Observation/],
    ['Observation.status', /status is code, not Reference/],
    ['Observation.value', /choice element Observation\.value\[x\] used without a type/],
    ['Observation.value.as(Reference)', /Observation\.value\[x\] has no type Reference/],
    ['Patient.subject', /no branch for Observation/],
    ['Observation.subject.where(resolve() is Patient', /unbalanced/],
  ])('fails loudly on %s', (expression, message) => {
    const out = join(gen.dir, 'never-written.ts');
    const run = generate('--search-parameters', searchParametersWith('Observation-subject', expression), '--file', out);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  test('fails when a reviewed CompartmentDefinition correction no longer matches its input', () => {
    const definition = JSON.parse(readFileSync(join(R4, 'compartmentdefinition-patient.json'), 'utf8')) as {
      resource: { code: string; param?: string[] }[];
    };
    const task = definition.resource.find((r) => r.code === 'Task');
    if (!task) throw new Error('Task missing from the input');
    task.param = ['patient'];
    const path = join(gen.dir, 'compartment-task.json');
    writeFileSync(path, JSON.stringify(definition));
    const run = generate('--compartment', path, '--file', join(gen.dir, 'never-written.ts'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Task: input params \["patient"\] no longer match the reviewed correction/);
  });
});

describe('owning and role params (the one membership rule)', () => {
  test('fails on a compartment param classified as neither owning nor role', () => {
    const definition = JSON.parse(readFileSync(join(R4, 'compartmentdefinition-patient.json'), 'utf8')) as {
      resource: { code: string; param?: string[] }[];
    };
    const observation = definition.resource.find((r) => r.code === 'Observation');
    if (!observation) throw new Error('Observation missing from the input');
    observation.param = [...(observation.param ?? []), 'focus'];
    const path = join(gen.dir, 'compartment-focus.json');
    writeFileSync(path, JSON.stringify(definition));
    const run = generate('--compartment', path, '--file', join(gen.dir, 'never-written.ts'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Observation\.focus: classify the param as owning or role/);
  });

  test.each([
    ['Observation', ['subject']], // performer is a role
    ['AllergyIntolerance', ['patient']], // recorder, asserter are roles
    ['Coverage', ['beneficiary']], // policy-holder, subscriber, payor are roles
    ['Group', ['member']],
    ['CareTeam', ['patient']], // participant is a role
    ['Appointment', ['actor']], // the scheduled party: the only patient reference it has
    ['Communication', ['subject']], // sender, recipient are roles
    ['Patient', []], // a Patient is owned by itself (its id), never by Patient.link
  ])('%s is owned through %j', (type, owning) => {
    expect(OWNING_PARAMS[type]).toEqual(owning);
  });

  test('every owning param is a compartment param, and every type but Patient can have an owner', () => {
    for (const [type, params] of Object.entries(PATIENT_COMPARTMENT)) {
      const owning = OWNING_PARAMS[type] ?? [];
      expect(owning.filter((p) => !(p in params))).toEqual([]);
      if (type !== 'Patient') expect([type, owning.length > 0]).toEqual([type, true]);
    }
  });
});

describe('committed table content', () => {
  test('types are sorted and disjoint from the never-in-compartment list', () => {
    const types = Object.keys(PATIENT_COMPARTMENT);
    expect(types).toEqual([...types].sort());
    expect(NEVER_IN_PATIENT_COMPARTMENT).toEqual([...NEVER_IN_PATIENT_COMPARTMENT].sort());
    expect(types.filter((t) => NEVER_IN_PATIENT_COMPARTMENT.includes(t))).toEqual([]);
  });

  test('every param has at least one plain element path', () => {
    for (const [type, params] of Object.entries(PATIENT_COMPARTMENT)) {
      expect(Object.keys(params).length).toBeGreaterThan(0);
      for (const paths of Object.values(params)) {
        expect(paths.length).toBeGreaterThan(0);
        for (const path of paths) expect(`${type}.${path}`).toMatch(/^[A-Z][A-Za-z]+(\.[a-z][A-Za-z0-9]*)+$/);
      }
    }
  });

  test('spot checks against FHIR R4', () => {
    expect(PATIENT_COMPARTMENT.Observation).toEqual({ subject: ['subject'], performer: ['performer'] });
    expect(PATIENT_COMPARTMENT.Encounter).toEqual({ patient: ['subject'] });
    expect(PATIENT_COMPARTMENT.AllergyIntolerance).toEqual({
      patient: ['patient'],
      recorder: ['recorder'],
      asserter: ['asserter'],
    });
    expect(PATIENT_COMPARTMENT.Patient).toEqual({ link: ['link.other'] });
    expect(PATIENT_COMPARTMENT.Group).toEqual({ member: ['member.entity'] });
    expect(NEVER_IN_PATIENT_COMPARTMENT).toEqual(
      expect.arrayContaining(['Device', 'Task', 'Practitioner', 'Medication']),
    );
  });
});
