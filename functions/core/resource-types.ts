/**
 * The FHIR R4 resource types. The Patient CompartmentDefinition lists every one of them (with the
 * parameters that place it in a compartment, or none), so the generated compartment data is the
 * list; Patient itself is the compartment's own type.
 */
import { NEVER_IN_PATIENT_COMPARTMENT, PATIENT_COMPARTMENT } from './compartment-data';

const R4_TYPES: ReadonlySet<string> = new Set(['Patient', ...Object.keys(PATIENT_COMPARTMENT), ...NEVER_IN_PATIENT_COMPARTMENT]);

/** True for a FHIR R4 resource type name. */
export function isR4ResourceType(name: string): boolean {
  return R4_TYPES.has(name);
}
