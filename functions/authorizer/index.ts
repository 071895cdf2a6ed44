/**
 * Lambda entry for the TOKEN authorizer: the environment read once per container, the wiring
 * (`wire.ts`) built at module scope, and the JWKS fetched before the first request, as
 * aws-jwt-verify recommends. A bad or missing variable fails the cold start: no request is
 * ever authorized by a function that did not get its configuration.
 */
import { configFromEnv } from '../adapters/authz-config';
import { jsonLogger } from '../common/log';
import type { AuthorizerHandler } from './handler';
import { buildAuthorizer } from './wire';

const config = configFromEnv(process.env);

const authorizer = buildAuthorizer(config, {
  // The DynamoDB client (and the SDK behind it) is built on the first link lookup: loading it was
  // most of this function's cold init, and machine and fhirgate-issued system/ tokens need no link.
  // Every outbound call has a deadline: a slow DynamoDB must fail the request, not hang it.
  dynamo: async () => (await import('../adapters/dynamo-client')).createDynamoClient({ endpoint: config.dynamoEndpoint }),
  log: jsonLogger,
});

// A JWKS that cannot be fetched now is fetched again on first use; the cold start must not crash.
const hydrated = authorizer.hydrate().catch((err: unknown) => {
  jsonLogger({ level: 'warn', event: 'authorizer.jwks-hydrate-failed', reason: err instanceof Error ? err.message : String(err) });
});

export const handler: AuthorizerHandler = async (event) => {
  await hydrated;
  return authorizer.handler(event);
};
