/**
 * Lambda entry for the TOKEN authorizer. Dependencies are built once per container (module
 * scope) and the JWKS are fetched before the first request, as aws-jwt-verify recommends.
 */
import { jsonLogger } from '../shared/log';
import { configFromEnv } from './config';
import { createAuthorizerHandler } from './handler';
import { CachedLinkStore, DynamoLinkStore, LazyLinkStore } from './link-store';
import { createTokenVerifier } from './verifier';

const config = configFromEnv(process.env);

const verifier = createTokenVerifier({
  issuers: config.issuers,
  clientIds: [...config.clients.userClientIds, ...config.clients.machineClientIds],
});

// The DynamoDB client (and the SDK behind it) is built on the first link lookup: loading it was
// most of this function's cold init, and machine and fhirgate-issued system/ tokens need no link.
// Every outbound call has a deadline: a slow DynamoDB must fail the request, not hang it.
const links = new CachedLinkStore(
  new LazyLinkStore(async () => {
    const { createDynamoClient } = await import('./dynamo-client');
    return new DynamoLinkStore(createDynamoClient({ endpoint: config.dynamoEndpoint }), config.linksTable);
  }),
  config.linkCacheTtlSeconds * 1000,
);

const authorize = createAuthorizerHandler({ verifier, links, clients: config.clients, settings: config.settings, log: jsonLogger });

// A JWKS that cannot be fetched now is fetched again on first use; the cold start must not crash.
const hydrated = verifier.hydrate().catch((err: unknown) => {
  jsonLogger({ level: 'warn', event: 'authorizer.jwks-hydrate-failed', reason: err instanceof Error ? err.message : String(err) });
});

export const handler: typeof authorize = async (event) => {
  await hydrated;
  return authorize(event);
};
