/**
 * The token service's configuration from its Lambda environment, read once at cold start. The
 * variables it shares with the authorizer (issuers, clients, links table, settings) are read by
 * the authorizer's own `configFromEnv`, so both functions understand them identically; the
 * exchange adds its own below. A bad value stops the function from starting.
 */
import { AuthorizerConfig, configFromEnv } from '../adapters/authz-config';
import type { TrustedIssuer } from '../adapters/verifier';
import {
  checkExchangePolicy,
  DEFAULT_DELEGABLE_SCOPES,
  DEFAULT_DELEGATION_SCOPE,
  ExchangePolicy,
  MAX_EXCHANGE_LIFETIME_SECONDS,
} from '../core/token-exchange';
import { Env, integerEnv, requiredEnv } from '../adapters/env';
import { CORS_ORIGINS_ENV, originsFromEnv } from '../common/cors';

export interface TokenServiceConfig {
  /** The authorizer's configuration, with the issuers cut down to Cognito ones (see `subjectIssuers`). */
  readonly authz: AuthorizerConfig;
  readonly policy: ExchangePolicy;
  /** KMS key (id, ARN or alias) that signs issued tokens. */
  readonly signingKeyId: string;
  /** KMS keys whose public halves stay published in the JWKS while their last tokens expire. */
  readonly retiringKeyIds: readonly string[];
  /** SMART Backend Services (private_key_jwt); absent when neither table is configured. */
  readonly clientCredentials?: ClientCredentialsConfig;
  /** Cognito's token endpoint, when client secrets are accepted (forwarded) at /auth/token. */
  readonly cognitoTokenUrl?: string;
  /** Browser origins allowed to call the token endpoint, JWKS and metadata (the proxy's allow-list). @default [] */
  readonly corsAllowedOrigins?: readonly string[];
}

/** Where the backend client tables are (client-tables.ts) and which `aud` assertions must carry. */
export interface ClientCredentialsConfig {
  readonly clientsTable: string;
  readonly replayTable: string;
  /** The public URL of `POST /auth/token`. @default `${issuer}/token` (the route beside the JWKS) */
  readonly tokenUrl: string;
}

/** Environment variable names, shared with the CDK construct and the local stack. */
export const EXCHANGE_ENV = {
  issuer: 'FHIRGATE_EXCHANGE_ISSUER',
  audience: 'FHIRGATE_FHIR_BASE_URL',
  delegationScope: 'FHIRGATE_DELEGATION_SCOPE',
  delegableScopes: 'FHIRGATE_DELEGABLE_SCOPES',
  lifetimeSeconds: 'FHIRGATE_EXCHANGE_TOKEN_LIFETIME_SECONDS',
  signingKeyId: 'FHIRGATE_SIGNING_KEY_ID',
  retiringKeyIds: 'FHIRGATE_RETIRING_SIGNING_KEY_IDS',
  /** Client registry table; set together with the replay table to offer private_key_jwt client_credentials. */
  clientsTable: 'FHIRGATE_CLIENTS_TABLE',
  replayTable: 'FHIRGATE_CLIENT_ASSERTION_REPLAY_TABLE',
  /** The `aud` client assertions must carry, when the public token URL is not `${FHIRGATE_EXCHANGE_ISSUER}/token`. */
  tokenUrl: 'FHIRGATE_TOKEN_URL',
  /** Cognito's `/oauth2/token`: secret-based client_credentials at /auth/token is forwarded there. */
  cognitoTokenUrl: 'FHIRGATE_COGNITO_TOKEN_URL',
  /** The same allow-list as the proxy's: a SMART app in a browser calls both. */
  corsOrigins: CORS_ORIGINS_ENV,
} as const;

/** Parse and validate the environment; throws TypeError naming the bad variable. */
export function tokenServiceConfigFromEnv(env: Env): TokenServiceConfig {
  const authz = configFromEnv(env);
  const lifetime = integerEnv(env, EXCHANGE_ENV.lifetimeSeconds, { min: 1, max: MAX_EXCHANGE_LIFETIME_SECONDS, fallback: MAX_EXCHANGE_LIFETIME_SECONDS });
  const delegable = env[EXCHANGE_ENV.delegableScopes];
  const policy: ExchangePolicy = {
    issuer: absoluteUrl(requiredEnv(env, EXCHANGE_ENV.issuer), EXCHANGE_ENV.issuer),
    audience: absoluteUrl(requiredEnv(env, EXCHANGE_ENV.audience), EXCHANGE_ENV.audience),
    delegationScope: env[EXCHANGE_ENV.delegationScope] || DEFAULT_DELEGATION_SCOPE,
    delegableScopes: delegable ? delegable.split(' ').filter(Boolean) : DEFAULT_DELEGABLE_SCOPES,
    lifetimeSeconds: lifetime,
  };
  try {
    checkExchangePolicy(policy);
  } catch (err) {
    throw new TypeError(`invalid token exchange settings (${EXCHANGE_ENV.delegationScope}, ${EXCHANGE_ENV.delegableScopes}): ${(err as Error).message}`);
  }
  const clientCredentials = clientCredentialsConfig(env, policy.issuer);
  return {
    authz: { ...authz, issuers: subjectIssuers(authz.issuers, policy.issuer) },
    policy,
    signingKeyId: requiredEnv(env, EXCHANGE_ENV.signingKeyId),
    retiringKeyIds: (env[EXCHANGE_ENV.retiringKeyIds] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    ...(clientCredentials ? { clientCredentials } : {}),
    ...(env[EXCHANGE_ENV.cognitoTokenUrl] ? { cognitoTokenUrl: absoluteUrl(env[EXCHANGE_ENV.cognitoTokenUrl]!, EXCHANGE_ENV.cognitoTokenUrl) } : {}),
    corsAllowedOrigins: originsFromEnv(env[EXCHANGE_ENV.corsOrigins], EXCHANGE_ENV.corsOrigins),
  };
}

/** Both tables or neither: half a configuration would fail at the first request instead of at start. */
function clientCredentialsConfig(env: Env, issuer: string): ClientCredentialsConfig | undefined {
  const clientsTable = env[EXCHANGE_ENV.clientsTable];
  const replayTable = env[EXCHANGE_ENV.replayTable];
  if (!clientsTable && !replayTable) {
    if (env[EXCHANGE_ENV.tokenUrl]) throw new TypeError(`${EXCHANGE_ENV.tokenUrl} needs ${EXCHANGE_ENV.clientsTable} and ${EXCHANGE_ENV.replayTable}`);
    return undefined;
  }
  if (!clientsTable || !replayTable) throw new TypeError(`${EXCHANGE_ENV.clientsTable} and ${EXCHANGE_ENV.replayTable} are set together`);
  const tokenUrl = env[EXCHANGE_ENV.tokenUrl] || `${issuer.replace(/\/+$/, '')}/token`;
  return { clientsTable, replayTable, tokenUrl: absoluteUrl(tokenUrl, EXCHANGE_ENV.tokenUrl) };
}

/**
 * The issuers whose tokens may be exchanged: the authorizer's list (the same variable) without
 * fhirgate's own exchange issuer, so an exchanged token can never be a subject or actor token.
 */
export function subjectIssuers(issuers: readonly TrustedIssuer[], exchangeIssuer: string): TrustedIssuer[] {
  const cognito = issuers.filter((i) => i.kind !== 'fhirgate-exchange' && !('issuer' in i && i.issuer === exchangeIssuer));
  if (cognito.length === 0) throw new TypeError('the token exchange needs at least one Cognito issuer');
  return cognito;
}

function absoluteUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw new TypeError(`${name} must be https (or http on loopback for the local stack)`);
  }
  return value;
}
