/**
 * The configuration the Lambdas receive as JSON, as one schema module (core/schema.ts): the typed
 * authorization settings (roles, their default and ceiling scopes, machine ceilings, the shared
 * resource types), the trusted token issuers and the SMART discovery values. The CDK stack and
 * the local stack feed the same objects to the Lambdas, so a setting means the same thing
 * everywhere; `SETTINGS_SCHEMA` also yields the JSON Schema of the settings file
 * (`docs/settings.schema.json`). Every error names the bad key.
 */
import { array, boolean, check, described, literal, looseObject, minItems, nonEmpty, optional, parseOrThrow, strictObject, string, variant } from './schema';
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
   * scopes cover the type (docs/design.md "Shared, non-compartment resources").
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

/** One SMART resource scope (`patient/Observation.rs`, `system/*.cruds`); `openid` and other non-FHIR scopes are not. */
const resourceScope = string(
  check((s) => {
    const parsed = parseScopeString(s);
    return parsed.errors.length === 0 && parsed.resource.length === 1;
  }, (s) => `${JSON.stringify(s)} is not a SMART resource scope`),
);
const scopeList = array(resourceScope);
const nonEmptyString = string(nonEmpty('must not be empty'));

const ROLE_SCHEMA = strictObject({
  defaultScopes: described(scopeList, { description: 'Scopes granted when a user token carries no FHIR scopes (Cognito sign-in tokens).' }),
  ceilingScopes: described(scopeList, { description: 'The most this role can ever hold: effective = token scopes ∩ ceiling.' }),
  group: described(nonEmptyString, { description: 'The Cognito group that confirms the role.' }),
});

/** The settings file (`-c settingsFile=…`, the `FHIRGATE_SETTINGS` variable): `AuthzSettings`. */
export const SETTINGS_SCHEMA = described(
  strictObject({
    roles: strictObject({ patient: ROLE_SCHEMA, practitioner: ROLE_SCHEMA, guardian: ROLE_SCHEMA }),
    systemCeilingScopes: described(scopeList, { description: 'Ceiling for machine tokens: effective = token scopes ∩ this.' }),
    sharedResourceTypes: described(array(nonEmptyString), { description: 'Resource types outside every patient compartment, readable when scopes cover them.' }),
  }),
  { title: 'fhirgate authorization settings' },
);

/**
 * Validate settings that arrive as JSON (an environment variable, the settings file). Throws a
 * TypeError naming the first bad key: a misconfigured function must not start.
 */
export function parseSettings(value: unknown): AuthzSettings {
  return parseOrThrow(SETTINGS_SCHEMA, value, 'invalid fhirgate settings');
}

/** An issuer whose tokens the authorizer accepts. */
export type TrustedIssuer =
  /** A real Cognito user pool: issuer and JWKS URL derive from the pool id. */
  | { readonly kind: 'cognito'; readonly userPoolId: string }
  /**
   * An issuer that mints Cognito-shaped tokens at a non-Cognito URL (cognito-local, the local
   * stack's client_credentials endpoint): the same Cognito claim checks, generic verifier.
   */
  | { readonly kind: 'cognito-compatible'; readonly issuer: string; readonly jwksUri: string }
  /**
   * fhirgate's own token service: ES256 JWT access tokens (RFC 9068, `typ: at+jwt`) whose `aud`
   * is the FHIR base URL — RFC 8693 delegated tokens (with `act`) and SMART Backend Services
   * `system/` tokens (without). Only the authorizer trusts it; the exchange never does.
   */
  | { readonly kind: 'fhirgate-exchange'; readonly issuer: string; readonly jwksUri: string; readonly audience: string };

const ISSUERS_SCHEMA = array(
  variant(
    'kind',
    [
      strictObject({ kind: literal('cognito'), userPoolId: nonEmptyString }),
      strictObject({ kind: literal('cognito-compatible'), issuer: nonEmptyString, jwksUri: nonEmptyString }),
      strictObject({ kind: literal('fhirgate-exchange'), issuer: nonEmptyString, jwksUri: nonEmptyString, audience: nonEmptyString }),
    ],
    'is not a trusted issuer (kind cognito, cognito-compatible or fhirgate-exchange)',
  ),
  minItems(1, 'must list at least one trusted issuer'),
);

/** Validate the trusted issuers (`FHIRGATE_TRUSTED_ISSUERS`); TypeError naming the bad entry. */
export function parseTrustedIssuers(value: unknown, name = 'trusted issuers'): TrustedIssuer[] {
  return parseOrThrow(ISSUERS_SCHEMA, value, name);
}

const DISCOVERY_SCHEMA = looseObject({
  issuer: nonEmptyString,
  tokenEndpoint: nonEmptyString,
  jwksUri: nonEmptyString,
  backendServices: boolean(),
  clientSecrets: boolean(),
  scopesSupported: array(string()),
  cognito: optional(strictObject({ issuer: nonEmptyString, tokenEndpoint: nonEmptyString })),
  // SMART App Launch, when the stack deploys it (core/oauth-metadata.ts ServedOAuth.appLaunch).
  appLaunch: optional(strictObject({ authorizationEndpoint: nonEmptyString })),
});

/** The values SMART discovery publishes (`FHIRGATE_DISCOVERY`); the proxy's DiscoveryConfig. */
export type DiscoverySettings = NonNullable<(typeof DISCOVERY_SCHEMA)['type']>;

/** Validate the discovery values; TypeError naming the bad key. */
export function parseDiscovery(value: unknown, name = 'discovery'): DiscoverySettings {
  return parseOrThrow(DISCOVERY_SCHEMA, value, name);
}
