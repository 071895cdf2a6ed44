/**
 * The local FHIR R4 store: a stand-in for an AWS HealthLake datastore in tests and the local
 * stack, built on Medplum's FhirRouter + MemoryRepository. Loopback only; no authentication.
 */
export { createFhirStoreServer, DEFAULT_DATASTORE_ID, MAX_BODY_BYTES } from './server';
export type { FhirStoreServer, FhirStoreServerOptions, RecordedRequest } from './server';
export { FhirStoreRepository } from './repository';
export { DEMO_PATIENT_IDS, DEMO_SHARED_IDS, demoBundle, demoResources, seedStore } from './seed';
export type { DemoPatientId, SeedInput } from './seed';
