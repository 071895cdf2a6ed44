/**
 * Lambda entry for the FHIR proxy (PEP): the environment read once per container and the wiring
 * (`wire.ts`) built at module scope with the AWS adapters (Powertools logging and metrics, S3 for
 * export files). A bad or missing variable fails the cold start.
 */
import { METRIC_SERVICES } from '../common/metrics';
import { powertoolsMetrics } from '../common/powertools-metrics';
import { powertoolsLogger } from '../common/powertools-log';
import { createHttpBackend, createSigV4Signer } from './backend';
import { proxyConfigFromEnv } from './config';
import { exportConfigFromEnv } from './export-config';
import type { ProxyHandler } from './handler';
import { buildProxy } from './wire';

const config = proxyConfigFromEnv(process.env);

export const handler: ProxyHandler = buildProxy(config, {
  log: powertoolsLogger('fhir-proxy'),
  metrics: powertoolsMetrics(METRIC_SERVICES.proxy),
  // Export files are read from S3 with the same SigV4 client; keys are plain [A-Za-z0-9-._/], so
  // S3's unescaped canonical path equals the escaped one the signer builds.
  exports: exportConfigFromEnv(process.env, (bucket) =>
    createHttpBackend({ baseUrl: `https://${bucket}.s3.${config.sigv4Region}.amazonaws.com`, timeoutMs: config.backendTimeoutMs, signer: createSigV4Signer({ region: config.sigv4Region ?? '', service: 's3' }) }),
  ),
});
