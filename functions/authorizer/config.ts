/**
 * The authorizer's configuration from its Lambda environment. Read once at cold start; a bad
 * value stops the function from starting (every request then fails with 500, never allows).
 */
import { ClientAllowList } from '../core/principal';
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../core/settings';
import type { TrustedIssuer } from './verifier';

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
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): AuthorizerConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new TypeError(`${name} is required`);
    return value;
  };
  const list = (name: string): string[] => (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const issuers = parseIssuers(required(ENV.issuers));
  const ttl = Number(env[ENV.linkCacheTtlSeconds] ?? '60');
  if (!Number.isFinite(ttl) || ttl < 0 || ttl > 3600) throw new TypeError(`${ENV.linkCacheTtlSeconds} must be 0..3600`);
  const settingsJson = env[ENV.settings];
  const backendClientIds = list(ENV.backendClientIds);
  return {
    issuers,
    clients: {
      userClientIds: list(ENV.userClientIds),
      machineClientIds: list(ENV.machineClientIds),
      ...(backendClientIds.length > 0 ? { backendClientIds } : {}),
    },
    linksTable: required(ENV.linksTable),
    linkCacheTtlSeconds: ttl,
    settings: settingsJson ? parseSettings(JSON.parse(settingsJson)) : DEFAULT_SETTINGS,
    dynamoEndpoint: env[ENV.dynamoEndpoint] || undefined,
  };
}

function parseIssuers(json: string): TrustedIssuer[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${ENV.issuers} must be a non-empty JSON array`);
  return value.map((item: unknown, i): TrustedIssuer => {
    const v = (item ?? {}) as Record<string, unknown>;
    if (v.kind === 'cognito' && typeof v.userPoolId === 'string') return { kind: 'cognito', userPoolId: v.userPoolId };
    if (v.kind === 'cognito-compatible' && typeof v.issuer === 'string' && typeof v.jwksUri === 'string') {
      return { kind: 'cognito-compatible', issuer: v.issuer, jwksUri: v.jwksUri };
    }
    if (v.kind === 'fhirgate-exchange' && typeof v.issuer === 'string' && typeof v.jwksUri === 'string' && typeof v.audience === 'string' && v.audience !== '') {
      return { kind: 'fhirgate-exchange', issuer: v.issuer, jwksUri: v.jwksUri, audience: v.audience };
    }
    throw new TypeError(`${ENV.issuers}[${i}] is not a trusted issuer`);
  });
}
