/**
 * Lambda entry for the token service (`POST /auth/token`, `GET /auth/jwks.json`). Dependencies
 * are built once per container. The KMS public keys are read on first use (not at import: the
 * CommonJS bundle has no top-level await); a failure there answers 503 and is retried on the
 * next request instead of poisoning the container.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { createDynamoClient } from '../authorizer/dynamo-client';
import { CachedLinkStore, DynamoLinkStore } from '../authorizer/link-store';
import { createTokenVerifier } from '../authorizer/verifier';
import { jsonLogger } from '../shared/log';
import { emfMetrics } from '../shared/emf-metrics';
import { tokenServiceConfigFromEnv } from './config';
import { createAssertionVerifier } from './assertion-verifier';
import { createCognitoTokenEndpoint } from './cognito-token-endpoint';
import type { ClientCredentialsDeps } from './client-credentials';
import { DynamoClientRegistry } from './client-registry';
import { createTokenServiceHandler, ProxyHandler } from './handler';
import { jsonResponse } from './http';
import { createKmsSigner } from './kms-signer';
import { recordTokenRequest } from './metrics';
import { DynamoReplayStore } from './replay-store';
import { appLaunchConfigFromEnv } from './app-launch-config';
import { DynamoAppRegistry } from './app-registry';
import { DynamoLaunchStore } from './launch-store';
import { createCognitoBroker } from './sign-in-broker';
import type { AppLaunchServiceDeps } from './handler';
import { TOKEN_SERVICE_ROUTES } from './handler';

const config = tokenServiceConfigFromEnv(process.env);
// Token issuance metrics as EMF lines written by fhirgate itself, and fhirgate's own jsonLogger:
// Powertools Metrics (~16 KB) and Logger (~24 KB) would take this bundle over its 100 KB budget.
const metrics = emfMetrics('token-service');
const { authz } = config;

const verifier = createTokenVerifier({
  issuers: authz.issuers,
  clientIds: [...authz.clients.userClientIds, ...authz.clients.machineClientIds],
});

// Every outbound call has a deadline: a slow dependency fails the request, it does not hang it.
const dynamo = createDynamoClient({ endpoint: authz.dynamoEndpoint });
const kms = new KMSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 2000 } });

const links = new CachedLinkStore(new DynamoLinkStore(dynamo, authz.linksTable), authz.linkCacheTtlSeconds * 1000);

// SMART Backend Services clients (private_key_jwt), when their tables are configured. The
// verifiers (and the client JWKS they cache) live as long as the container.
const cc = config.clientCredentials;
const clientCredentials: ClientCredentialsDeps | undefined = cc && {
  registry: new DynamoClientRegistry(dynamo, cc.clientsTable),
  replay: new DynamoReplayStore(dynamo, cc.replayTable),
  tokenUrl: cc.tokenUrl,
  assertions: createAssertionVerifier(),
};

// SMART App Launch, when its tables and the broker client are configured: sign-in through Cognito
// managed login with the broker (a confidential client, so its code is useless to anyone else).
const launch = appLaunchConfigFromEnv(process.env);
const issuerBase = config.policy.issuer.replace(/\/+$/, '');
const appLaunch: AppLaunchServiceDeps | undefined = launch && {
  apps: new DynamoAppRegistry(dynamo, launch.appsTable),
  store: new DynamoLaunchStore(dynamo, launch.launchTable),
  broker: createCognitoBroker({
    domain: launch.cognitoDomain,
    clientId: launch.brokerClientId,
    clientSecret: launch.brokerClientSecret,
    // The issuer is `<api>/auth`; the callback is the route beside the token endpoint.
    callbackUrl: `${issuerBase}${TOKEN_SERVICE_ROUTES.callback.slice('/auth'.length)}`,
    verifier: createTokenVerifier({ issuers: authz.issuers, clientIds: [launch.brokerClientId] }),
  }),
  policy: { ...launch.policy, issuer: config.policy.issuer, audience: config.policy.audience },
};

async function build(): Promise<ProxyHandler> {
  const [signer, ...retiringKeys] = await Promise.all(
    [config.signingKeyId, ...config.retiringKeyIds].map((keyId) => createKmsSigner({ client: kms, keyId })),
  );
  await verifier.hydrate().catch((err: unknown) => {
    jsonLogger({ level: 'warn', event: 'token-exchange.jwks-hydrate-failed', reason: err instanceof Error ? err.message : String(err) });
  });
  return createTokenServiceHandler({
    verifier,
    links,
    clients: authz.clients,
    settings: authz.settings,
    policy: config.policy,
    signer: signer!,
    retiringKeys,
    log: jsonLogger,
    ...(clientCredentials ? { clientCredentials } : {}),
    ...(config.cognitoTokenUrl ? { cognito: createCognitoTokenEndpoint(config.cognitoTokenUrl) } : {}),
    ...(appLaunch ? { appLaunch } : {}),
  });
}

let ready: Promise<ProxyHandler> | undefined;

export const handler: ProxyHandler = async (event) => {
  ready ??= build().catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  let serve: ProxyHandler;
  try {
    serve = await ready;
  } catch (err) {
    jsonLogger({ level: 'error', event: 'token-exchange.init-failed', reason: err instanceof Error ? err.message : String(err) });
    return jsonResponse(503, { error: 'temporarily_unavailable', error_description: 'signing key unavailable; no token was issued' });
  }
  const result = await serve(event);
  recordTokenRequest(metrics, event, result);
  return result;
};
