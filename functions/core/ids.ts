/**
 * FHIR identifiers as they appear in tokens, link records and URLs.
 */

/**
 * FHIR R4 `id` datatype: 1–64 of `[A-Za-z0-9\-.]` (http://hl7.org/fhir/R4/datatypes.html#id),
 * except `.` and `..`, which match the pattern but are removed by URL resolution (RFC 3986 §5.2.4).
 */
export const FHIR_ID = /^(?!\.\.?$)[A-Za-z0-9\-.]{1,64}$/;

/** A FHIR resource type name as it appears in a URL or reference (`Observation`). */
export const FHIR_TYPE = /^[A-Z][A-Za-z]{0,63}$/;

/** Resource types SMART allows as `fhirUser` (App Launch 2.x, "fhirUser" claim). */
export const FHIR_USER_TYPES: readonly string[] = ['Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson', 'Person'];

/** Parse a relative `fhirUser` reference (`Patient/123`), or undefined when it is not one. */
export function parseFhirUser(value: string): { resourceType: string; id: string } | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) return undefined;
  const resourceType = value.slice(0, slash);
  const id = value.slice(slash + 1);
  if (!FHIR_USER_TYPES.includes(resourceType) || !FHIR_ID.test(id)) return undefined;
  return { resourceType, id };
}
