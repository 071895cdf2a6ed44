import { OperationOutcomeError, Operator, badRequest, getSearchParameter, isResourceType } from '@medplum/core';
import type { Bundle, BundleEntry, Patient, Resource } from '@medplum/fhirtypes';
import { patientCompartmentDefinition } from './definitions';
import { collectReferences, keyOf } from './references';
import type { FhirStoreRepository } from './repository';
import { pageWindow } from './search';

/** Options of `Patient/{id}/$everything` this store honours (R4 patient-operation-everything). */
export interface EverythingOptions {
  /** `_type`: only these resource types. */
  types?: string[];
  count?: number;
  offset?: number;
}

/**
 * `Patient/{id}/$everything`, which Medplum's FhirRouter does not implement.
 * Matches: the patient and every resource in its compartment, as the official Patient
 * CompartmentDefinition defines membership. Includes: the shared resources (types that are not
 * compartment members, e.g. Practitioner, Medication) those matches reference. Paged like search.
 */
export async function patientEverything(
  repo: FhirStoreRepository,
  patientId: string,
  options: EverythingOptions = {}
): Promise<Bundle> {
  const patient = await repo.readResource<Patient>('Patient', patientId);
  const { count, offset } = pageWindow(options);
  for (const type of options.types ?? []) {
    if (!isResourceType(type)) {
      throw new OperationOutcomeError(badRequest(`Unknown resource type in _type: ${type}`, '_type'));
    }
  }
  const wanted = (type: string): boolean => !options.types || options.types.includes(type);

  const members = await compartmentMembers(repo, patient);
  const matches = [...members.values()].filter((r) => wanted(r.resourceType));
  const page = matches.slice(offset, offset + count);

  const memberTypes = new Set<string>(
    (patientCompartmentDefinition().resource ?? []).filter((r) => r.param?.length).map((r) => r.code)
  );
  const shared = new Map<string, Resource>();
  for (const resource of page) {
    for (const reference of collectReferences(resource, repo.baseUrl)) {
      const [type, id] = reference.split('/');
      if (memberTypes.has(type) || members.has(reference) || shared.has(reference) || !wanted(type)) {
        continue;
      }
      const read = await repo.readResource(type, id).catch(() => undefined);
      if (read) {
        shared.set(reference, read);
      }
    }
  }

  const entry: BundleEntry[] = [
    ...page.map((resource) => ({ resource, search: { mode: 'match' as const } })),
    ...[...shared.values()].map((resource) => ({ resource, search: { mode: 'include' as const } })),
  ];
  return { resourceType: 'Bundle', type: 'searchset', total: matches.length, ...(entry.length ? { entry } : {}) };
}

/**
 * The patient and every resource in its compartment, keyed `Type/id`, as the official Patient
 * CompartmentDefinition defines membership (`$everything` and the Patient/Group `$export`).
 */
export async function compartmentMembers(repo: FhirStoreRepository, patient: Patient): Promise<Map<string, Resource>> {
  const members = new Map<string, Resource>([[keyOf(patient), patient]]);
  for (const { code, param } of patientCompartmentDefinition().resource ?? []) {
    for (const paramCode of param ?? []) {
      // A few compartment params are not search parameters of the base spec; they cannot match.
      if (!getSearchParameter(code, paramCode)) {
        continue;
      }
      const filters = [{ code: paramCode, operator: Operator.EQUALS, value: `Patient/${patient.id}` }];
      for (const found of await repo.searchAll({ resourceType: code as Resource['resourceType'], filters })) {
        members.set(keyOf(found), found);
      }
    }
  }
  return members;
}
