/**
 * The one wiring of the FHIR proxy (PEP): configuration plus adapters in, handler out. The Lambda
 * entry, the local stack and the in-process test stack call `buildProxy`; only the adapters differ.
 */
import type { PageSigner } from '../core/paging';
import { countKmsThrottles } from '../adapters/kms-throttles';
import type { Logger } from '../common/log';
import { createHttpBackend, createSigV4Signer, FhirBackend } from './backend';
import type { ProxyConfig } from './config';
import { createProxyHandler, ProxyDeps, ProxyHandler } from './handler';
import { timedBackend } from './metrics';
import type { KmsMacApi } from './kms-page-signer';
import { createHmacPageSigner, createLazyPageSigner } from './page-signer';

type KmsMacCommand = Parameters<KmsMacApi['send']>[0];

/** The I/O the proxy needs, built by the caller. */
export interface ProxyAdapters {
  readonly log: Logger;
  /** Bulk Data export files (the S3 bucket and its client), when exports are configured. */
  readonly exports?: ProxyDeps['exports'];
  /** Request and backend metrics (Powertools in AWS). @default none */
  readonly metrics?: ProxyDeps['metrics'];
  /** Tests only: wraps the backend client (e.g. to tamper with what the FHIR server answers). */
  readonly interceptBackend?: (backend: FhirBackend) => FhirBackend;
}

/** Build the proxy from its configuration and adapters. */
export function buildProxy(config: ProxyConfig, adapters: ProxyAdapters): ProxyHandler {
  const http = createHttpBackend({
    baseUrl: config.backendUrl,
    timeoutMs: config.backendTimeoutMs,
    signer: config.sigv4Region ? createSigV4Signer({ region: config.sigv4Region }) : undefined,
  });
  const timed = adapters.metrics ? timedBackend(http, adapters.metrics) : http;
  return createProxyHandler({
    backend: adapters.interceptBackend ? adapters.interceptBackend(timed) : timed,
    settings: config.settings,
    signer: pageSigner(config, adapters.metrics),
    discovery: config.discovery,
    publicBaseUrl: config.publicBaseUrl,
    log: adapters.log,
    // No allow-list, no CORS: a browser on another origin then cannot read any response.
    cors: config.corsAllowedOrigins.length > 0 ? { allowedOrigins: config.corsAllowedOrigins } : undefined,
    ...(adapters.exports ? { exports: adapters.exports } : {}),
    ...(adapters.metrics ? { metrics: adapters.metrics } : {}),
  });
}

/** KMS HMAC key in AWS (no secret in the environment); a shared key locally. */
function pageSigner({ paging }: ProxyConfig, metrics: ProxyAdapters['metrics']): PageSigner {
  if (paging.kind === 'hmac') return createHmacPageSigner(paging.key);
  // The KMS client is loaded on the first paging link, not at cold start (createLazyPageSigner).
  // `require`, not `import()`: Lambda resolves its runtime SDK through NODE_PATH, which ESM ignores.
  return createLazyPageSigner(async () => {
    const { createKmsPageSigner } = await import('./kms-page-signer');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KMSClient } = require('@aws-sdk/client-kms') as typeof import('@aws-sdk/client-kms');
    // Every outbound call has a deadline: a slow KMS fails the request (502/504), it does not hang it.
    const client = new KMSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
    // A throttled MAC call is answered 502, not a Lambda error: counted for the KMS throttling alarm.
    return createKmsPageSigner({ client: metrics ? countKmsThrottles<KmsMacCommand>(client, metrics) : client, keyId: paging.keyId });
  });
}
