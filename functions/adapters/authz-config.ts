/**
 * The authorizer's configuration from its Lambda environment. Read once at cold start; a bad
 * value stops the function from starting (every request then fails with 500, never allows).
 */
import { ClientAllowList } from '../core/principal';
import { AuthzSettings, parseTrustedIssuers, TrustedIssuer } from '../core/settings';
import { Env, integerEnv, jsonEnv, listEnv, requiredEnv, settingsEnv } from './env';

export interface AuthorizerConfig {
  readonly issuers: readonly TrustedIssuer[];
  readonly clients: ClientAllowList;
  readonly linksTable: string;
  readonly linkCacheTtlSeconds: number;
  readonly settings: AuthzSettings;
  /** Only for the local stack (dynalite); unset in AWS. */
  readonly dynamoEndpoint?: string;
}

/** Environment variable names, shared with the CDK construct and the local stack. */
export const ENV = {
  issuers: 'FHIRGATE_TRUSTED_ISSUERS',
  userClientIds: 'FHIRGATE_USER_CLIENT_IDS',
  machineClientIds: 'FHIRGATE_MACHINE_CLIENT_IDS',
  /** Registered private_key_jwt clients (token-exchange/client-tables.ts) allowed to reach the FHIR API. */
  backendClientIds: 'FHIRGATE_BACKEND_CLIENT_IDS',
  linksTable: 'FHIRGATE_LINKS_TABLE',
  linkCacheTtlSeconds: 'FHIRGATE_LINK_CACHE_TTL_SECONDS',
  settings: 'FHIRGATE_SETTINGS',
  dynamoEndpoint: 'FHIRGATE_DYNAMODB_ENDPOINT',
} as const;

/** Parse and validate the environment; throws TypeError naming the bad variable. */
export function configFromEnv(env: Env): AuthorizerConfig {
  const issuers = parseTrustedIssuers(jsonEnv(env, ENV.issuers), ENV.issuers);
  const backendClientIds = listEnv(env, ENV.backendClientIds);
  return {
    issuers,
    clients: {
      userClientIds: listEnv(env, ENV.userClientIds),
      machineClientIds: listEnv(env, ENV.machineClientIds),
      ...(backendClientIds.length > 0 ? { backendClientIds } : {}),
    },
    linksTable: requiredEnv(env, ENV.linksTable),
    linkCacheTtlSeconds: integerEnv(env, ENV.linkCacheTtlSeconds, { min: 0, max: 3600, fallback: 60 }),
    settings: settingsEnv(env, ENV.settings),
    dynamoEndpoint: env[ENV.dynamoEndpoint] || undefined,
  };
}
