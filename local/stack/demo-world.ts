/**
 * The seeded demo world of the local stack: synthetic users, their links and machine clients.
 * Local only: the passwords are documented in the README and printed at start.
 */
import type { Role } from '../../functions/core/settings';

export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
  readonly fhirUser: string;
  readonly patients: readonly string[];
}

export interface DemoMachineClient {
  readonly name: string;
  readonly scopes: readonly string[];
}

/** The Cognito custom scope that lets a machine client exchange user tokens (RFC 8693). */
export const DELEGATION_SCOPE = 'fhirgate/delegate';

const PASSWORD = 'Demo-Passw0rd!';

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', password: PASSWORD, role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] },
  { username: 'bob', password: PASSWORD, role: 'patient', fhirUser: 'Patient/pat-bob', patients: ['pat-bob'] },
  // Carol is a child; her mother signs in as her guardian.
  { username: 'carols-mother', password: PASSWORD, role: 'guardian', fhirUser: 'RelatedPerson/rp-carol-mother', patients: ['pat-carol'] },
  // Dr. Demo's panel is one patient.
  { username: 'dr-demo', password: PASSWORD, role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-alice'] },
];

export const DEMO_MACHINE_CLIENTS: readonly DemoMachineClient[] = [
  { name: 'api-server', scopes: ['system/*.rs', DELEGATION_SCOPE] },
  { name: 'analytics', scopes: ['system/Observation.rs'] },
];
