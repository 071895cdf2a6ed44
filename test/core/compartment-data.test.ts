/**
 * The committed compartment table must be exactly what scripts/gen-compartment.mjs produces from
 * the installed definitions, and the generator must refuse what it cannot convert.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NEVER_IN_PATIENT_COMPARTMENT, PATIENT_COMPARTMENT } from '../../functions/core/compartment-data';

const ROOT = resolve(__dirname, '..', '..');
const GENERATOR = join(ROOT, 'scripts', 'gen-compartment.mjs');
const COMMITTED = join(ROOT, 'functions', 'core', 'compartment-data.ts');
const R4 = join(ROOT, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gen-compartment-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function generate(...args: string[]) {
  const run = spawnSync(process.execPath, [GENERATOR, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Bundle {
  entry: { resource: { id: string; expression?: string; resourceType: string; code?: string; param?: string[] } }[];
}

/** Writes a copy of search-parameters.json with one SearchParameter's expression replaced. */
function searchParametersWith(id: string, expression: string): string {
  const bundle = JSON.parse(readFileSync(join(R4, 'search-parameters.json'), 'utf8')) as Bundle;
  const entry = bundle.entry.find((e) => e.resource.id === id);
  if (!entry) throw new Error(`no SearchParameter ${id}`);
  entry.resource.expression = expression;
  const path = join(dir, `sp-${id}-${Buffer.from(expression).toString('hex').slice(0, 16)}.json`);
  writeFileSync(path, JSON.stringify(bundle));
  return path;
}

describe('committed table is fresh', () => {
  test('--check passes on the committed file (fails when it is stale: run npm run gen:compartment)', () => {
    const run = generate('--check');
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/compartment-data\.ts is up to date \(\d+ types, \d+ paths\)/);
    expect(run.status).toBe(0);
  });

  test('a fresh generation is byte-identical to the committed file', () => {
    const out = join(dir, 'fresh.ts');
    const run = generate('--file', out);
    expect(run.status).toBe(0);
    expect(readFileSync(out)).toEqual(readFileSync(COMMITTED));
  });

  test('--check reports a copy with one path removed as stale', () => {
    const altered = join(dir, 'altered.ts');
    const committed = readFileSync(COMMITTED, 'utf8');
    const edited = committed.replace(
      "Observation: { subject: ['subject'], performer: ['performer'] }",
      "Observation: { subject: ['subject'] }",
    );
    expect(edited).not.toBe(committed);
    writeFileSync(altered, edited);
    const run = generate('--check', '--file', altered);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/altered\.ts is stale \(first difference at line \d+\)/);
  });

  test('--check reports a missing file as stale', () => {
    const run = generate('--check', '--file', join(dir, 'missing.ts'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/is stale/);
  });
});

describe('generator conversions', () => {
  test('choice type `value.as(Reference)` becomes valueReference; `(x as Reference)` is x', () => {
    const sp = searchParametersWith(
      'QuestionnaireResponse-author',
      'QuestionnaireResponse.item.answer.value.as(Reference) | ' +
        '(QuestionnaireResponse.author as Reference) | Observation.focus',
    );
    const out = join(dir, 'choice.ts');
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
    const out = join(dir, 'oftype.ts');
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
    const out = join(dir, 'never-written.ts');
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
    const path = join(dir, 'compartment-task.json');
    writeFileSync(path, JSON.stringify(definition));
    const run = generate('--compartment', path, '--file', join(dir, 'never-written.ts'));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Task: input params \["patient"\] no longer match the reviewed correction/);
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
