/**
 * Lambda entry for the FHIR proxy (PEP): dependencies built once per container.
 */
import type { PageSigner } from '../core/paging';
import { powertoolsMetrics } from '../shared/powertools-metrics';
import { powertoolsLogger } from '../shared/powertools-log';
import { createHttpBackend, createSigV4Signer } from './backend';
import { PagingKeyConfig, proxyConfigFromEnv } from './config';
import { exportConfigFromEnv } from './export-config';
import { createProxyHandler, ProxyHandler } from './handler';
import { timedBackend } from './metrics';
import { createHmacPageSigner, createLazyPageSigner } from './page-signer';

const config = proxyConfigFromEnv(process.env);
// Powertools Logger and Metrics (EMF). No Powertools Tracer: its X-Ray SDK would more than
// double this bundle, and its HTTP capture would put FHIR URLs (ids) into trace subsegments;
// the function's own segment (TracingConfig Active) carries no URL.
const metrics = powertoolsMetrics('fhir-proxy');

/** KMS HMAC key in AWS (no secret in the environment); the shared base64 key locally. */
function pageSigner(paging: PagingKeyConfig): PageSigner {
  if (paging.kind === 'hmac') return createHmacPageSigner(paging.key);
  // The KMS client is loaded on the first paging link, not at cold start (createLazyPageSigner).
  // `require`, not `import()`: Lambda resolves its runtime SDK through NODE_PATH, which ESM ignores.
  return createLazyPageSigner(async () => {
    const { createKmsPageSigner } = await import('./kms-page-signer');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KMSClient } = require('@aws-sdk/client-kms') as typeof import('@aws-sdk/client-kms');
    // Every outbound call has a deadline: a slow KMS fails the request (502/504), it does not hang it.
    const client = new KMSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1000 } });
    return createKmsPageSigner({ client, keyId: paging.keyId });
  });
}

const proxy = createProxyHandler({
  backend: timedBackend(
    createHttpBackend({
      baseUrl: config.backendUrl,
      timeoutMs: config.backendTimeoutMs,
      signer: config.sigv4Region ? createSigV4Signer({ region: config.sigv4Region }) : undefined,
    }),
    metrics,
  ),
  settings: config.settings,
  signer: pageSigner(config.paging),
  discovery: config.discovery,
  publicBaseUrl: config.publicBaseUrl,
  log: powertoolsLogger('fhir-proxy'),
  metrics,
  // No allow-list, no CORS: a browser on another origin then cannot read any response.
  cors: config.corsAllowedOrigins.length > 0 ? { allowedOrigins: config.corsAllowedOrigins } : undefined,
  // Export files are read from S3 with the same SigV4 client; keys are plain [A-Za-z0-9-._/], so
  // S3's unescaped canonical path equals the escaped one the signer builds.
  exports: exportConfigFromEnv(process.env, (bucket) =>
    createHttpBackend({ baseUrl: `https://${bucket}.s3.${config.sigv4Region}.amazonaws.com`, timeoutMs: config.backendTimeoutMs, signer: createSigV4Signer({ region: config.sigv4Region ?? '', service: 's3' }) }),
  ),
});

export const handler: ProxyHandler = proxy;
