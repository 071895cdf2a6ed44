import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

/** Search parameter types the store evaluates (see supportedOperators in search.ts). */
const searchableTypes = new Set(['reference', 'string', 'uri', 'token', 'date']);

const instanceInteractions: CapabilityStatementRestResource['interaction'] = [
  { code: 'read' },
  { code: 'vread' },
  { code: 'update' },
  { code: 'patch' },
  { code: 'delete' },
  { code: 'history-instance' },
  { code: 'history-type' },
  { code: 'create' },
  { code: 'search-type' },
];

let cached: CapabilityStatement | undefined;

/**
 * The store's CapabilityStatement (R4 capabilitystatement.html), generated from the same schema the
 * store searches with, so it lists exactly the parameters that work. Medplum's router has none.
 */
export function capabilityStatement(): CapabilityStatement {
  cached ??= {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2024-01-01',
    kind: 'instance',
    software: { name: 'fhirgate local FHIR store (Medplum MemoryRepository)' },
    implementation: { description: 'Local stand-in for an AWS HealthLake datastore (tests and the local stack only)' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        resource: getResourceTypes().map((type) => ({
          type,
          interaction: instanceInteractions,
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          conditionalRead: 'not-supported',
          searchInclude: ['*'],
          searchRevInclude: ['*'],
          searchParam: Object.values(getSearchParameters(type) ?? {})
            .filter((p) => searchableTypes.has(p.type))
            .map((p) => ({ name: p.code, type: p.type, ...(p.url ? { definition: p.url } : {}) })),
          ...(type === 'Patient'
            ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] }
            : {}),
        })),
      },
    ],
  };
  return cached;
}
