/**
 * Lambda entry for the FHIR proxy (PEP): the environment read once per container and the wiring
 * (`wire.ts`) built at module scope with the AWS adapters (log lines in Powertools Logger's shape
 * and EMF metrics, both written by fhirgate; S3 for export files). A bad or missing variable
 * fails the cold start.
 *
 * Not Powertools itself: per request (one audit line, two or three data points) it cost about
 * 100 µs of CPU against 7 µs — `singleMetric()` alone is ~40 µs per data point — and 7 ms of cold
 * start to load (bench, see common/log.ts and common/emf-metrics.ts; their tests hold them to
 * Powertools' output).
 */
import { emfMetrics } from '../common/emf-metrics';
import { lambdaLogger } from '../common/log';
import { METRIC_SERVICES } from '../common/metrics';
import { createHttpBackend, createSigV4Signer } from './backend';
import { proxyConfigFromEnv } from './config';
import { exportConfigFromEnv } from './export-config';
import type { ProxyHandler } from './handler';
import { buildProxy } from './wire';

const config = proxyConfigFromEnv(process.env);

export const handler: ProxyHandler = buildProxy(config, {
  log: lambdaLogger('fhir-proxy'),
  metrics: emfMetrics(METRIC_SERVICES.proxy),
  // Export files are read from S3 with the same SigV4 client; keys are plain [A-Za-z0-9-._/], so
  // S3's unescaped canonical path equals the escaped one the signer builds.
  exports: exportConfigFromEnv(process.env, (bucket) =>
    createHttpBackend({ baseUrl: `https://${bucket}.s3.${config.sigv4Region}.amazonaws.com`, timeoutMs: config.backendTimeoutMs, signer: createSigV4Signer({ region: config.sigv4Region ?? '', service: 's3' }) }),
  ),
});
