/**
 * The proxy's configuration from its Lambda environment, read once at cold start. A bad value
 * stops the function from starting: every request then fails (500), none is let through.
 */
import { AuthzSettings, parseDiscovery } from '../core/settings';
import { CORS_ORIGINS_ENV, originsFromEnv } from '../common/cors';
import type { DiscoveryConfig } from './discovery';
import { Env, integerEnv, jsonEnv, requiredEnv, settingsEnv } from '../adapters/env';

export interface ProxyConfig {
  readonly backendUrl: string;
  /** Set for AWS HealthLake: requests are SigV4-signed for this region. */
  readonly sigv4Region?: string;
  readonly settings: AuthzSettings;
  /** Where paging-link MACs come from: a KMS HMAC key in AWS, a shared key locally. */
  readonly paging: PagingKeyConfig;
  readonly publicBaseUrl?: string;
  readonly discovery: DiscoveryConfig;
  readonly backendTimeoutMs: number;
  /** Origins of first-party browser frontends allowed by CORS; empty: no browser access. */
  readonly corsAllowedOrigins: readonly string[];
}

/**
 * The paging-link MAC key. In AWS a KMS HMAC_256 key (no secret in the environment); the base64
 * key is for the local stack and tests.
 */
export type PagingKeyConfig = { readonly kind: 'kms'; readonly keyId: string } | { readonly kind: 'hmac'; readonly key: Buffer };

export const PROXY_ENV = {
  backendUrl: 'FHIRGATE_BACKEND_URL',
  sigv4Region: 'FHIRGATE_BACKEND_SIGV4_REGION',
  settings: 'FHIRGATE_SETTINGS',
  /** Base64, at least 32 bytes; only read when no KMS key is configured (local stack). */
  pagingKey: 'FHIRGATE_PAGING_KEY',
  /** KMS HMAC_256 key id/ARN/alias for paging-link MACs; takes precedence over the base64 key. */
  pagingKmsKeyId: 'FHIRGATE_PAGING_KMS_KEY_ID',
  publicBaseUrl: 'FHIRGATE_PUBLIC_BASE_URL',
  discovery: 'FHIRGATE_DISCOVERY',
  backendTimeoutMs: 'FHIRGATE_BACKEND_TIMEOUT_MS',
  /** Comma-separated exact origins (`https://portal.example.com,http://localhost:5173`). */
  corsOrigins: CORS_ORIGINS_ENV,
} as const;

/** Parse and validate the environment; throws TypeError naming the bad variable. */
export function proxyConfigFromEnv(env: Env): ProxyConfig {
  const paging = pagingKeyFromEnv(env);
  const discovery: DiscoveryConfig = parseDiscovery(jsonEnv(env, PROXY_ENV.discovery), PROXY_ENV.discovery);
  return {
    backendUrl: requiredEnv(env, PROXY_ENV.backendUrl),
    sigv4Region: env[PROXY_ENV.sigv4Region] || undefined,
    settings: settingsEnv(env, PROXY_ENV.settings),
    paging,
    publicBaseUrl: env[PROXY_ENV.publicBaseUrl] || undefined,
    discovery,
    backendTimeoutMs: integerEnv(env, PROXY_ENV.backendTimeoutMs, { min: 100, max: 28_000, fallback: 10_000 }),
    corsAllowedOrigins: originsFromEnv(env[PROXY_ENV.corsOrigins], PROXY_ENV.corsOrigins),
  };
}


function pagingKeyFromEnv(env: Env): PagingKeyConfig {
  const keyId = env[PROXY_ENV.pagingKmsKeyId];
  if (keyId) return { kind: 'kms', keyId };
  const key = Buffer.from(requiredEnv(env, PROXY_ENV.pagingKey), 'base64');
  if (key.length < 32) throw new TypeError(`${PROXY_ENV.pagingKey} must be at least 32 bytes, base64`);
  return { kind: 'hmac', key };
}
