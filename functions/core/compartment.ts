/**
 * Patient compartment membership, from the FHIR R4 Patient CompartmentDefinition
 * (http://hl7.org/fhir/R4/compartmentdefinition-patient.html): "A resource is in this compartment
 * if the nominated search parameter (or chain) refers to the patient resource that defines the
 * compartment." The params and their element paths come from the generated compartment-data.ts.
 *
 * fhirgate's one membership rule (docs/security-model.md) narrows that definition: only the
 * *owning* params (subject, patient, beneficiary, member, …) make a resource a patient's record;
 * role params (performer, author, recorder, …) grant nothing on their own. `ownersOf` is the one
 * function every access path asks; `patientsOf` keeps the published definition for reference.
 *
 * Resources are untrusted JSON (request bodies, backend responses). Only own properties on the
 * fixed, generated paths are read, so `__proto__`, `constructor` and friends are never followed.
 */
import { OWNING_PARAMS, PATIENT_COMPARTMENT } from './compartment-data';
import { isFhirId, parseReference } from './reference';
import { hasOwn, isRecord, ownValue } from './untrusted-json';

interface Rule {
  /** Search parameter codes, in CompartmentDefinition order. */
  readonly params: readonly string[];
  /** Every element path of every param, split into steps. */
  readonly paths: readonly (readonly string[])[];
  /** The owning params (fhirgate policy), in the same order. */
  readonly owning: readonly string[];
  /** Element paths of the owning params only. */
  readonly owningPaths: readonly (readonly string[])[];
}

const NO_PARAMS: readonly string[] = Object.freeze([]);
// Property names that reach prototypes; the generated paths never contain them (they are checked
// against the StructureDefinitions), and this guard keeps it that way if the table is edited.
const UNSAFE_STEPS = new Set(['__proto__', 'constructor', 'prototype']);

// A Map, not the object literal, for lookups by untrusted type names: `RULES.get('constructor')`
// is undefined, whereas `PATIENT_COMPARTMENT['constructor']` would be Object's constructor.
const RULES: ReadonlyMap<string, Rule> = new Map(
  Object.keys(PATIENT_COMPARTMENT).map((type): [string, Rule] => {
    const byParam = PATIENT_COMPARTMENT[type];
    const split = (codes: readonly string[]) =>
      Object.freeze(codes.flatMap((code) => byParam[code] ?? []).map((path) => Object.freeze(path.split('.'))));
    const paths = split(Object.keys(byParam));
    for (const steps of paths) {
      if (steps.some((step) => UNSAFE_STEPS.has(step) || step === '')) {
        throw new TypeError(`compartment-data: unsafe path for ${type}: ${steps.join('.')}`);
      }
    }
    const owning = Object.freeze([...(OWNING_PARAMS[type] ?? [])]);
    return [type, Object.freeze({ params: Object.freeze(Object.keys(byParam)), paths, owning, owningPaths: split(owning) })];
  }),
);

/** Patient ids whose compartment contains this resource (FHIR R4 Patient CompartmentDefinition, every param). */
export function patientsOf(resource: unknown, ownBaseUrls: readonly string[]): ReadonlySet<string> {
  const patients = new Set<string>();
  eachPatient(resource, ownBaseUrls, ALL_PATHS, addTo, patients);
  return patients;
}

/**
 * The patients whose record this is: its owning references (and a Patient's own id). Role
 * references are not read. The single membership question of every access path.
 */
export function ownersOf(resource: unknown, ownBaseUrls: readonly string[]): ReadonlySet<string> {
  const owners = new Set<string>();
  eachPatient(resource, ownBaseUrls, OWNING_PATHS, addTo, owners);
  return owners;
}

/**
 * True when the resource is a record of the given patients only: it has at least one owner and
 * every owner is one of them. A record that also owns a patient outside the set (a Group listing
 * both) is not theirs to see: it would show the other patient's membership. The owners are
 * `ownersOf`'s, visited without building the set (this runs for every entry of every page).
 */
export function ownedOnlyBy(
  resource: unknown,
  patients: ReadonlySet<string> | readonly string[],
  ownBaseUrls: readonly string[],
): boolean {
  return eachPatient(resource, ownBaseUrls, OWNING_PATHS, isOneOf, patients) > 0;
}

const ALL_PATHS = (rule: Rule) => rule.paths;
const OWNING_PATHS = (rule: Rule) => rule.owningPaths;
const addTo = (id: string, set: Set<string>): boolean => (set.add(id), true);
// A caller holds a handful of patients (at most 100): a list is searched as is.
const isOneOf = (id: string, patients: ReadonlySet<string> | readonly string[]): boolean => (isStringArray(patients) ? patients.includes(id) : patients.has(id));

/**
 * Calls `visit(id, arg)` with each patient id the resource names on the rule's paths (a Patient's
 * own id first); an id may be visited twice. Returns how many were visited, or -1 as soon as
 * `visit` returns false. (Module-level visitors and an argument, not closures: this runs for
 * every entry of every page, and closures were a fifth of what the post-filter allocated.)
 */
function eachPatient<A>(
  resource: unknown,
  ownBaseUrls: readonly string[],
  pathsOf: (rule: Rule) => readonly (readonly string[])[],
  visit: (patientId: string, arg: A) => boolean,
  arg: A,
): number {
  if (!isRecord(resource)) return 0;
  const resourceType = ownValue(resource, 'resourceType');
  if (typeof resourceType !== 'string') return 0;
  let visited = 0;

  // "There is an instance of the patient compartment for each patient resource, and the identity
  // of the compartment is the same as the patient" (CompartmentDefinition/patient description;
  // R5 writes this rule as the `{def}` param): a Patient is in its own compartment.
  if (resourceType === 'Patient') {
    const id = ownValue(resource, 'id');
    if (isFhirId(id)) {
      if (!visit(id, arg)) return -1;
      visited += 1;
    }
  }

  const rule = RULES.get(resourceType);
  if (rule === undefined) return visited;
  for (const steps of pathsOf(rule)) {
    for (const value of valuesAt(resource, steps)) {
      // Only literal references count; a Reference with just `identifier` or `display` names
      // no resource on this server (R4 references.html#Reference).
      const reference = isRecord(value) ? ownValue(value, 'reference') : undefined;
      if (typeof reference !== 'string') continue;
      const target = parseReference(reference, ownBaseUrls);
      if (target?.resourceType !== 'Patient') continue;
      if (!visit(target.id, arg)) return -1;
      visited += 1;
    }
  }
  return visited;
}

/** True when resourceType has patient-compartment params at all. */
export function isCompartmentType(resourceType: string): boolean {
  return RULES.has(resourceType);
}


/**
 * The search parameters (codes) that define membership for a type, e.g. Observation ->
 * ['subject', 'performer'], in CompartmentDefinition order; [] outside the compartment. For a
 * Patient, its own id (search `_id`) also counts; that identity rule is not a param here.
 */
export function compartmentParams(resourceType: string): readonly string[] {
  return RULES.get(resourceType)?.params ?? NO_PARAMS;
}

/** The owning params of a type (the ones search narrowing may use), e.g. Observation -> ['subject']. */
export function owningParams(resourceType: string): readonly string[] {
  return RULES.get(resourceType)?.owning ?? NO_PARAMS;
}

/**
 * All values at a path. FHIR JSON puts repeating elements in arrays at any step
 * (http://hl7.org/fhir/R4/json.html#repeating), so arrays are flattened at every step. The walk is
 * a loop over a fixed-depth path; each node of a parsed JSON tree is reached at most once per
 * path, so the work is linear in the size of the input, with no recursion.
 */
function valuesAt(root: Record<string, unknown>, steps: readonly string[]): unknown[] {
  let current: unknown[] = [];
  if (hasOwn(root, steps[0]!)) pushFlattened(current, root[steps[0]!]);
  for (let i = 1; i < steps.length; i++) {
    const step = steps[i]!;
    const next: unknown[] = [];
    for (const node of current) {
      if (isRecord(node) && hasOwn(node, step)) pushFlattened(next, node[step]);
    }
    current = next;
  }
  return current;
}

/**
 * Pushes a value, or the leaves of a (possibly nested) array. Nested arrays are not valid FHIR
 * JSON; they are flattened rather than ignored so that a reference cannot hide inside one.
 */
function pushFlattened(out: unknown[], value: unknown): void {
  if (!Array.isArray(value)) {
    out.push(value);
    return;
  }
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push(item[i]);
    } else {
      out.push(item);
    }
  }
}


function isStringArray(value: ReadonlySet<string> | readonly string[]): value is readonly string[] {
  return Array.isArray(value);
}
