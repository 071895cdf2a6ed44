/**
 * Lambda entry for the FHIR proxy (PEP): dependencies built once per container.
 */
import { jsonLogger } from '../shared/log';
import { createHttpBackend, createSigV4Signer } from './backend';
import { proxyConfigFromEnv } from './config';
import { createProxyHandler } from './handler';
import { createHmacPageSigner } from './page-signer';

const config = proxyConfigFromEnv(process.env);

export const handler = createProxyHandler({
  backend: createHttpBackend({
    baseUrl: config.backendUrl,
    timeoutMs: config.backendTimeoutMs,
    signer: config.sigv4Region ? createSigV4Signer({ region: config.sigv4Region }) : undefined,
  }),
  settings: config.settings,
  signer: createHmacPageSigner(config.pagingKey),
  discovery: config.discovery,
  publicBaseUrl: config.publicBaseUrl,
  log: jsonLogger,
});
