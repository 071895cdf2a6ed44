/**
 * Lambda entry for the TOKEN authorizer. Dependencies are built once per container (module
 * scope) and the JWKS are fetched before the first request, as aws-jwt-verify recommends.
 */
import { jsonLogger } from '../shared/log';
import { configFromEnv } from './config';
import { createDynamoClient } from './dynamo-client';
import { createAuthorizerHandler } from './handler';
import { CachedLinkStore, DynamoLinkStore } from './link-store';
import { createTokenVerifier } from './verifier';

const config = configFromEnv(process.env);

const verifier = createTokenVerifier({
  issuers: config.issuers,
  clientIds: [...config.clients.userClientIds, ...config.clients.machineClientIds],
});

// Every outbound call has a deadline: a slow DynamoDB must fail the request, not hang it.
const dynamo = createDynamoClient({ endpoint: config.dynamoEndpoint });

const links = new CachedLinkStore(new DynamoLinkStore(dynamo, config.linksTable), config.linkCacheTtlSeconds * 1000);

const authorize = createAuthorizerHandler({ verifier, links, clients: config.clients, settings: config.settings, log: jsonLogger });

// A JWKS that cannot be fetched now is fetched again on first use; the cold start must not crash.
const hydrated = verifier.hydrate().catch((err: unknown) => {
  jsonLogger({ level: 'warn', event: 'authorizer.jwks-hydrate-failed', reason: err instanceof Error ? err.message : String(err) });
});

export const handler: typeof authorize = async (event) => {
  await hydrated;
  return authorize(event);
};
