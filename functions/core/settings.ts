/**
 * The configuration the Lambdas receive as JSON, as one valibot schema module: the typed
 * authorization settings (roles, their default and ceiling scopes, machine ceilings, the shared
 * resource types), the trusted token issuers and the SMART discovery values. The CDK stack and
 * the local stack feed the same objects to the Lambdas, so a setting means the same thing
 * everywhere; `SETTINGS_SCHEMA` also yields the JSON Schema of the settings file
 * (`docs/settings.schema.json`). Every error names the bad key.
 */
import * as v from 'valibot';
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
const resourceScope = v.pipe(
  v.string(),
  v.check((s) => {
    const parsed = parseScopeString(s);
    return parsed.errors.length === 0 && parsed.resource.length === 1;
  }, (issue) => `${JSON.stringify(issue.input)} is not a SMART resource scope`),
);
const scopeList = v.array(resourceScope);
const nonEmpty = v.pipe(v.string(), v.nonEmpty('must not be empty'));

const ROLE_SCHEMA = v.strictObject({
  defaultScopes: v.pipe(scopeList, v.description('Scopes granted when a user token carries no FHIR scopes (Cognito sign-in tokens).')),
  ceilingScopes: v.pipe(scopeList, v.description('The most this role can ever hold: effective = token scopes ∩ ceiling.')),
  group: v.pipe(nonEmpty, v.description('The Cognito group that confirms the role.')),
});

/** The settings file (`-c settingsFile=…`, the `FHIRGATE_SETTINGS` variable): `AuthzSettings`. */
export const SETTINGS_SCHEMA = v.pipe(
  v.strictObject({
    roles: v.strictObject({ patient: ROLE_SCHEMA, practitioner: ROLE_SCHEMA, guardian: ROLE_SCHEMA }),
    systemCeilingScopes: v.pipe(scopeList, v.description('Ceiling for machine tokens: effective = token scopes ∩ this.')),
    sharedResourceTypes: v.pipe(v.array(nonEmpty), v.description('Resource types outside every patient compartment, readable when scopes cover them.')),
  }),
  v.title('fhirgate authorization settings'),
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

const ISSUERS_SCHEMA = v.pipe(
  v.array(
    v.variant('kind', [
      v.strictObject({ kind: v.literal('cognito'), userPoolId: nonEmpty }),
      v.strictObject({ kind: v.literal('cognito-compatible'), issuer: nonEmpty, jwksUri: nonEmpty }),
      v.strictObject({ kind: v.literal('fhirgate-exchange'), issuer: nonEmpty, jwksUri: nonEmpty, audience: nonEmpty }),
    ], 'is not a trusted issuer (kind cognito, cognito-compatible or fhirgate-exchange)'),
  ),
  v.minLength(1, 'must list at least one trusted issuer'),
);

/** Validate the trusted issuers (`FHIRGATE_TRUSTED_ISSUERS`); TypeError naming the bad entry. */
export function parseTrustedIssuers(value: unknown, name = 'trusted issuers'): TrustedIssuer[] {
  return parseOrThrow(ISSUERS_SCHEMA, value, name);
}

const DISCOVERY_SCHEMA = v.looseObject({
  issuer: nonEmpty,
  tokenEndpoint: nonEmpty,
  jwksUri: nonEmpty,
  backendServices: v.boolean(),
  clientSecrets: v.boolean(),
  scopesSupported: v.array(v.string()),
  cognito: v.optional(v.strictObject({ issuer: nonEmpty, tokenEndpoint: nonEmpty })),
  // SMART App Launch, when the stack deploys it (core/oauth-metadata.ts ServedOAuth.appLaunch).
  appLaunch: v.optional(v.strictObject({ authorizationEndpoint: nonEmpty })),
});

/** The values SMART discovery publishes (`FHIRGATE_DISCOVERY`); the proxy's DiscoveryConfig. */
export type DiscoverySettings = v.InferOutput<typeof DISCOVERY_SCHEMA>;

/** Validate the discovery values; TypeError naming the bad key. */
export function parseDiscovery(value: unknown, name = 'discovery'): DiscoverySettings {
  return parseOrThrow(DISCOVERY_SCHEMA, value, name);
}

/** `prefix at a.b[0].c: message` for the first issue; TypeError, because bad configuration is a deployment mistake. */
function parseOrThrow<S extends v.GenericSchema>(schema: S, value: unknown, prefix: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = (issue.path ?? []).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`)).join('').replace(/^\./, '');
  throw new TypeError(`${prefix} at ${path || '(root)'}: ${describe(issue)}`);
}

function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== 'schema' || issue.type === 'variant') return issue.message;
  if (issue.expected === 'never') return 'is not a known key';
  if (issue.received === 'undefined' && issue.expected?.startsWith('"')) return 'is required';
  return `expected ${issue.expected}, got ${issue.received}`;
}
