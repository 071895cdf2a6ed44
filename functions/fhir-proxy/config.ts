/**
 * The proxy's configuration from its Lambda environment, read once at cold start. A bad value
 * stops the function from starting: every request then fails (500), none is let through.
 */
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../core/settings';
import type { DiscoveryConfig } from './discovery';

export interface ProxyConfig {
  readonly backendUrl: string;
  /** Set for AWS HealthLake: requests are SigV4-signed for this region. */
  readonly sigv4Region?: string;
  readonly settings: AuthzSettings;
  readonly pagingKey: Buffer;
  readonly publicBaseUrl?: string;
  readonly discovery: DiscoveryConfig;
  readonly backendTimeoutMs: number;
}

export const PROXY_ENV = {
  backendUrl: 'FHIRGATE_BACKEND_URL',
  sigv4Region: 'FHIRGATE_BACKEND_SIGV4_REGION',
  settings: 'FHIRGATE_SETTINGS',
  pagingKey: 'FHIRGATE_PAGING_KEY',
  publicBaseUrl: 'FHIRGATE_PUBLIC_BASE_URL',
  discovery: 'FHIRGATE_DISCOVERY',
  backendTimeoutMs: 'FHIRGATE_BACKEND_TIMEOUT_MS',
} as const;

/** Parse and validate the environment; throws TypeError naming the bad variable. */
export function proxyConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ProxyConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new TypeError(`${name} is required`);
    return value;
  };
  const pagingKey = Buffer.from(required(PROXY_ENV.pagingKey), 'base64');
  if (pagingKey.length < 32) throw new TypeError(`${PROXY_ENV.pagingKey} must be at least 32 bytes, base64`);
  const discovery = JSON.parse(required(PROXY_ENV.discovery)) as DiscoveryConfig;
  if (typeof discovery.issuer !== 'string' || typeof discovery.tokenEndpoint !== 'string' || !Array.isArray(discovery.scopesSupported)) {
    throw new TypeError(`${PROXY_ENV.discovery} needs issuer, tokenEndpoint and scopesSupported`);
  }
  const timeout = Number(env[PROXY_ENV.backendTimeoutMs] ?? '10000');
  if (!Number.isFinite(timeout) || timeout < 100 || timeout > 28_000) throw new TypeError(`${PROXY_ENV.backendTimeoutMs} must be 100..28000`);
  const settingsJson = env[PROXY_ENV.settings];
  return {
    backendUrl: required(PROXY_ENV.backendUrl),
    sigv4Region: env[PROXY_ENV.sigv4Region] || undefined,
    settings: settingsJson ? parseSettings(JSON.parse(settingsJson)) : DEFAULT_SETTINGS,
    pagingKey,
    publicBaseUrl: env[PROXY_ENV.publicBaseUrl] || undefined,
    discovery,
    backendTimeoutMs: timeout,
  };
}
