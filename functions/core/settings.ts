/**
 * The one typed authorization configuration: roles, their default and ceiling scopes, machine
 * ceilings and the shared (non-compartment) resource types. The CDK stack and the local stack
 * feed the same object to the Lambdas (as JSON in an environment variable), so a setting means
 * the same thing everywhere.
 */
import { parseScopeString } from './scopes';

/** A user role. The role decides which scopes apply and how the patient list is interpreted. */
export type Role = 'patient' | 'practitioner' | 'guardian';

export const ROLES: readonly Role[] = ['patient', 'practitioner', 'guardian'];

export interface RoleSettings {
  /**
   * Scopes granted when the token carries no FHIR scopes at all — the normal case for tokens
   * from Cognito `InitiateAuth`/SRP/Amplify sign-in, which only carry
   * `aws.cognito.signin.user.admin`.
   */
  readonly defaultScopes: readonly string[];
  /** The most this role can ever hold: effective = token scopes ∩ ceiling. */
  readonly ceilingScopes: readonly string[];
  /** The Cognito group that confirms the role when the token carries `cognito:groups`. */
  readonly group: string;
}

export interface AuthzSettings {
  readonly roles: Readonly<Record<Role, RoleSettings>>;
  /** Ceiling for machine (client_credentials) tokens; effective = token scopes ∩ this. */
  readonly systemCeilingScopes: readonly string[];
  /**
   * Resource types that belong to no patient compartment and that any caller may read when its
   * scopes cover the type (DESIGN.md "Shared, non-compartment resources").
   */
  readonly sharedResourceTypes: readonly string[];
}

/**
 * Documented defaults.
 * - patient: reads their own record (`patient/*.rs`); may be widened up to `patient/*.cruds`.
 * - guardian: reads the linked dependents' records, same ceiling as a patient.
 * - practitioner: reads and writes clinical data for the patients on their panel (`user/` scopes
 *   confined to the panel by the link record).
 * - machine clients: whatever `system/` scopes the token carries, up to full access.
 */
export const DEFAULT_SETTINGS: AuthzSettings = {
  roles: {
    patient: {
      defaultScopes: ['patient/*.rs'],
      ceilingScopes: ['patient/*.cruds'],
      group: 'patient',
    },
    guardian: {
      defaultScopes: ['patient/*.rs'],
      ceilingScopes: ['patient/*.cruds'],
      group: 'guardian',
    },
    practitioner: {
      defaultScopes: ['user/*.rs', 'user/Observation.cu', 'user/Condition.cu', 'user/Encounter.cu'],
      ceilingScopes: ['user/*.cruds'],
      group: 'practitioner',
    },
  },
  systemCeilingScopes: ['system/*.cruds'],
  sharedResourceTypes: [
    'Practitioner',
    'PractitionerRole',
    'Organization',
    'Location',
    'Medication',
    'Substance',
    'HealthcareService',
    'Endpoint',
  ],
};

/** True when the value names a configured role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Validate settings that arrive as JSON (an environment variable set by the CDK or local stack).
 * Throws TypeError naming the first bad field: a misconfigured authorizer must not start.
 */
export function parseSettings(value: unknown): AuthzSettings {
  const fail = (path: string): never => {
    throw new TypeError(`invalid fhirgate settings at ${path}`);
  };
  const strings = (v: unknown, path: string): readonly string[] =>
    Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : fail(path);
  const scopes = (v: unknown, path: string): readonly string[] => {
    const list = strings(v, path);
    const parsed = parseScopeString(list.join(' '));
    return parsed.errors.length === 0 && parsed.resource.length === list.length ? list : fail(path);
  };
  if (typeof value !== 'object' || value === null) return fail('(root)');
  const v = value as Record<string, unknown>;
  const rolesIn = v.roles;
  if (typeof rolesIn !== 'object' || rolesIn === null) return fail('roles');
  const roles = {} as Record<Role, RoleSettings>;
  for (const role of ROLES) {
    const r = (rolesIn as Record<string, unknown>)[role];
    if (typeof r !== 'object' || r === null) return fail(`roles.${role}`);
    const rs = r as Record<string, unknown>;
    if (typeof rs.group !== 'string' || rs.group === '') return fail(`roles.${role}.group`);
    roles[role] = {
      defaultScopes: scopes(rs.defaultScopes, `roles.${role}.defaultScopes`),
      ceilingScopes: scopes(rs.ceilingScopes, `roles.${role}.ceilingScopes`),
      group: rs.group,
    };
  }
  return {
    roles,
    systemCeilingScopes: scopes(v.systemCeilingScopes, 'systemCeilingScopes'),
    sharedResourceTypes: strings(v.sharedResourceTypes, 'sharedResourceTypes'),
  };
}
