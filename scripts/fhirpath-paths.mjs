/**
 * FHIRPath search expressions -> JSON element paths, checked against the FHIR StructureDefinitions.
 * Shared by the table generators (gen-compartment.mjs, gen-search-params.mjs) so that the pure core
 * never evaluates FHIRPath at runtime.
 *
 * Only the narrow subset that FHIR R4 SearchParameter expressions use for plain element access is
 * understood: unions of `A.b.c`, `(A.b as T)`, `A.b as T`, `A.b.as(T)`, `A.b.ofType(T)`, plus
 * `.where(...)` filters that a caller names as droppable. Anything else throws a FhirPathError;
 * each caller decides whether that stops the run (compartment) or skips the param (search params).
 */

/**
 * A conversion the module refuses. `code` is 'unsupported' when the expression is valid FHIRPath
 * this converter does not read (a hand conversion may help), 'invalid' when the expression is
 * malformed or names something the StructureDefinitions do not have.
 */
export class FhirPathError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'FhirPathError';
    this.code = code;
  }
}

function invalid(message) {
  throw new FhirPathError('invalid', message);
}

function unsupported(message) {
  throw new FhirPathError('unsupported', message);
}

/** Splits a FHIRPath expression at top-level `sep` characters (outside parentheses and quotes). */
export function splitTop(expression, sep) {
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
    if (depth < 0) invalid(`unbalanced parentheses in ${JSON.stringify(expression)}`);
  }
  if (depth !== 0 || quoted) invalid(`unbalanced expression ${JSON.stringify(expression)}`);
  parts.push(expression.slice(start).trim());
  return parts;
}

/**
 * Parses one union branch into its root type and steps [{ name, as }]. Shapes understood:
 * `A.b.c`, `(A.b as T)`, `A.b as T`, `A.b.as(T)`, `A.b.ofType(T)`, and `A.b.where(cond)` when
 * `dropWhere(cond)` (cond with whitespace collapsed) says the filter may be dropped; no element
 * step may follow a dropped filter. Whether a filter may be dropped depends on what the caller does with the values, so
 * the default drops none.
 */
export function parseBranch(branch, { dropWhere = () => false } = {}) {
  let text = unwrap(branch);
  let castAll;
  // Type names are FHIR types: `Reference`, `CodeableConcept`, and lower-case primitives (`boolean`).
  const asOperator = /^(.*\S)\s+as\s+([A-Za-z]+)$/.exec(text);
  if (asOperator) [, text, castAll] = asOperator;
  const tokens = splitTop(text, '.');
  const [root, ...rest] = tokens;
  if (!/^[A-Z][A-Za-z]*$/.test(root)) invalid(`branch ${JSON.stringify(branch)}: no resource type root`);
  const steps = [];
  let filtered = false;
  for (const token of rest) {
    const cast = /^(?:as|ofType)\(\s*([A-Za-z]+)\s*\)$/.exec(token);
    const where = /^where\((.*)\)$/.exec(token);
    if (/^[a-z][A-Za-z0-9]*$/.test(token) && !filtered) {
      steps.push({ name: token, as: undefined });
    } else if (cast && steps.length > 0 && steps[steps.length - 1].as === undefined) {
      steps[steps.length - 1].as = cast[1];
    } else if (where && dropWhere(where[1].replace(/\s+/g, ' ').trim())) {
      // No element step may follow: a later step would read below a filter we no longer apply.
      filtered = true;
    } else {
      unsupported(`branch ${JSON.stringify(branch)}: unsupported FHIRPath step ${JSON.stringify(token)}`);
    }
  }
  if (steps.length === 0) invalid(`branch ${JSON.stringify(branch)}: no element path`);
  if (castAll !== undefined) {
    const last = steps[steps.length - 1];
    if (last.as !== undefined && last.as !== castAll) invalid(`branch ${JSON.stringify(branch)}: two casts`);
    last.as = castAll;
  }
  return { root, steps };
}

/** Removes parentheses that wrap a whole branch: `(A.b as T)`, but not `(A.b).where(c)`. */
export function unwrap(branch) {
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
export function rootOf(branch) {
  return splitTop(unwrap(branch), '.')[0].split(/\s/)[0];
}

/**
 * Indexes StructureDefinition snapshots (base definitions only, no profiles):
 * type name -> element path -> ElementDefinition.
 */
export function indexStructures(...bundles) {
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
 * Resolves parsed steps against the StructureDefinitions to { path, type }: the JSON property path
 * (dot-separated), spelling a choice element with its type (`value` as Reference ->
 * `valueReference`, FHIR R4 JSON choice elements, http://hl7.org/fhir/R4/formats.html#choice), and
 * the type code of the last element (`Reference`, `CodeableConcept`, `code`, ...;
 * `BackboneElement` for a contentReference). `where` labels error messages.
 */
export function resolvePath(index, type, steps, where) {
  let owner = type;
  let base = type;
  let lastType;
  const names = [];
  for (const step of steps) {
    const elements = index.get(owner) ?? invalid(`${where}: no StructureDefinition for ${owner}`);
    let element = elements.get(`${base}.${step.name}`);
    let name = step.name;
    let typeCode;
    if (element?.contentReference) {
      if (step.as !== undefined) invalid(`${where}: cast on ${element.path}`);
      base = element.contentReference.replace(/^#/, '');
      names.push(name);
      lastType = 'BackboneElement';
      continue;
    }
    const codes = () => (element.type ?? []).map((t) => t.code);
    if (element) {
      typeCode = step.as ?? (codes().length === 1 ? codes()[0] : undefined);
      if (typeCode === undefined || !codes().includes(typeCode)) invalid(`${where}: cannot type ${element.path}`);
    } else if ((element = elements.get(`${base}.${step.name}[x]`))) {
      if (step.as === undefined) invalid(`${where}: choice element ${element.path} used without a type`);
      if (!codes().includes(step.as)) invalid(`${where}: ${element.path} has no type ${step.as}`);
      typeCode = step.as;
      name = step.name + typeCode[0].toUpperCase() + typeCode.slice(1);
    } else {
      invalid(`${where}: ${base}.${step.name} is not an element of ${owner}`);
    }
    names.push(name);
    lastType = typeCode;
    if (typeCode === 'BackboneElement' || typeCode === 'Element') base = `${base}.${step.name}`;
    else [owner, base] = [typeCode, typeCode];
  }
  return { path: names.join('.'), type: lastType };
}

/** Code-unit order (locale-independent), so generated files sort the same everywhere. */
export function byCodeUnit(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
