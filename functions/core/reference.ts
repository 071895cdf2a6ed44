/**
 * Literal FHIR references (Reference.reference) normalised to resource type + id, so that access
 * checks compare exact values and never substrings or prefixes.
 * FHIR R4 §2.3.0 Resource References: http://hl7.org/fhir/R4/references.html#literal
 */
import { FHIR_ID, FHIR_TYPE } from './ids';
import { isRecord, ownValue } from './untrusted-json';

/** A resource on this server, by type and logical id. */
export interface ResourceRef {
  readonly resourceType: string;
  readonly id: string;
}

// Never part of a reference we accept: a query or fragment changes what the URL names, `%` would
// need decoding (and lets one value have two spellings), `..` and `\` invite path normalisation,
// whitespace is never valid in a URL. Rejecting them keeps "same string" equal to "same resource".
const FORBIDDEN = /[\s?#%\\]|\.\./;
// Far above any real reference (base URL + type + two 64-char ids); bounds the work per call.
const MAX_REFERENCE_LENGTH = 2048;
// An own base URL as configured: absolute http(s), no query, fragment, encoding or whitespace.
const BASE_URL = /^https?:\/\/[A-Za-z0-9.\-]+(?::\d{1,5})?(?:\/[A-Za-z0-9._~\-/]*)?$/;
// FHIR R4 vread (http://hl7.org/fhir/R4/http.html#vread): `[type]/[id]/_history/[vid]` is one version.
const HISTORY = '_history';

/** True when value is a FHIR R4 id usable as a URL path segment (see FHIR_ID). */
export function isFhirId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID.test(value);
}

/** True when value is shaped like a FHIR resource type name (e.g. `Patient`). */
export function isResourceTypeName(value: unknown): value is string {
  return typeof value === 'string' && FHIR_TYPE.test(value);
}

/** Normalise a FHIR Reference.reference string to type+id, or undefined when it is not a literal reference to this server. */
export function parseReference(
  reference: string,
  ownBaseUrls: readonly string[],
): ResourceRef | undefined {
  const bases = normaliseBases(ownBaseUrls);
  if (typeof reference !== 'string' || reference.length > MAX_REFERENCE_LENGTH) return undefined;
  // Contained (`#x`), `urn:uuid:`/`urn:oid:` and anything with a query or encoding end here:
  // contained resources live inside their container, and the proxy resolves `urn:uuid` within a
  // transaction itself before asking about membership.
  if (FORBIDDEN.test(reference)) return undefined;

  // `Type/id`, by far the most common form, without splitting (this runs for every reference of
  // every entry of every page); the general case below reads it the same way.
  const slash = reference.indexOf('/');
  if (slash > 0 && reference.indexOf('/', slash + 1) < 0) {
    const resourceType = reference.slice(0, slash);
    const id = reference.slice(slash + 1);
    return isResourceTypeName(resourceType) && isFhirId(id) ? { resourceType, id } : undefined;
  }
  const segments = reference.split('/');
  // The relative part is `Type/id`, or `Type/id/_history/vid` (the version is dropped: every
  // version of a resource belongs to the same compartment question as the resource).
  const versioned = segments.length >= 4 && segments[segments.length - 2] === HISTORY;
  const tail = versioned ? 4 : 2;
  if (segments.length < tail) return undefined;
  const first = segments.length - tail;
  const resourceType = segments[first];
  const id = segments[first + 1];
  if (!isResourceTypeName(resourceType) || !isFhirId(id)) return undefined;
  if (versioned && !isFhirId(segments[first + 3])) return undefined;

  if (segments.length > tail) {
    // Absolute: everything before the relative part must equal one of our bases exactly
    // (R4 references.html#literal: an absolute URL that matches the service base is a reference
    // to this server). Equality, not startsWith: `https://h/r4x` is not `https://h/r4`.
    const base = segments.slice(0, segments.length - tail).join('/');
    if (!bases.includes(base)) return undefined;
  }
  return { resourceType, id };
}

/**
 * Calls `visit` with every `reference` string in an untrusted JSON tree (own properties only, any
 * depth, iterative so nesting cannot exhaust the stack); stops early when `visit` returns true.
 * Returns whether it stopped early.
 */
export function someReference(root: unknown, visit: (reference: string) => boolean): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      for (const item of node) pending.push(item);
    } else if (isRecord(node)) {
      const reference = ownValue(node, 'reference');
      if (typeof reference === 'string' && visit(reference)) return true;
      for (const key of Object.keys(node)) {
        const value = node[key];
        if (typeof value === 'object' && value !== null) pending.push(value);
      }
    }
  }
  return false;
}

/** Formats a ResourceRef as the relative literal reference `Type/id`. */
export function formatReference(ref: ResourceRef): string {
  if (!isResourceTypeName(ref.resourceType) || !isFhirId(ref.id)) {
    throw new TypeError(`not a valid resource reference: ${JSON.stringify(ref)}`);
  }
  return `${ref.resourceType}/${ref.id}`;
}

/**
 * Validates the configured bases and removes one trailing slash from each. A malformed base is a
 * deployment mistake, so it throws instead of silently matching nothing (or, worse, everything).
 */
/** Checked bases per array: a request's base list is reused for every reference in a Bundle. */
const checkedBases = new WeakMap<readonly string[], readonly string[]>();

function normaliseBases(ownBaseUrls: readonly string[]): readonly string[] {
  if (!Array.isArray(ownBaseUrls)) throw new TypeError('ownBaseUrls must be an array of base URLs');
  const cached = checkedBases.get(ownBaseUrls);
  if (cached) return cached;
  const checked = ownBaseUrls.map((base: unknown) => {
    if (typeof base !== 'string' || !BASE_URL.test(base) || base.includes('..')) {
      throw new TypeError(`not an absolute http(s) FHIR base URL: ${JSON.stringify(base)}`);
    }
    return base.endsWith('/') ? base.slice(0, -1) : base;
  });
  // Frozen arrays cannot change after the check; a mutable one is checked again next time.
  if (Object.isFrozen(ownBaseUrls)) checkedBases.set(ownBaseUrls, checked);
  return checked;
}
