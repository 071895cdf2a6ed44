/**
 * The one wiring of the token service (`POST /auth/token`, `GET /auth/jwks.json`): configuration
 * plus adapters in, handler out. The Lambda entry, the local stack and the tests call
 * `buildTokenService`; only the adapters differ (KMS or a local key, HTTPS or loopback JWKS).
 *
 * The signing keys are read on first use, not at build time (the CommonJS Lambda bundle has no
 * top-level await); a failure there answers 503 and is retried on the next request instead of
 * poisoning the container.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Fetcher } from 'aws-jwt-verify/https';
import { CachedLinkStore, DynamoLinkStore } from '../adapters/link-store';
import { createTokenVerifier } from '../adapters/verifier';
import type { Logger } from '../common/log';
import type { Metrics } from '../common/metrics';
import { createAssertionVerifier } from './assertion-verifier';
import type { ClientCredentialsDeps } from './client-credentials';
import { createCognitoTokenEndpoint } from './cognito-token-endpoint';
import { DynamoClientRegistry } from './client-registry';
import type { TokenServiceConfig } from './config';
import { AppLaunchServiceDeps, createTokenServiceHandler, ProxyHandler } from './handler';
import { jsonResponse } from './http';
import { recordTokenRequest } from './metrics';
import { DynamoReplayStore } from './replay-store';
import type { JwtSigner } from './signer';

/** The I/O the token service needs, built by the caller. */
export interface TokenServiceAdapters {
  /** Links, client registry and replay tables (with deadlines: adapters/dynamo-client.ts). */
  readonly dynamo: DynamoDBClient;
  /** The signer for a configured key id (KMS in AWS, a local key in the local stack). */
  readonly signer: (keyId: string) => Promise<JwtSigner>;
  readonly log: Logger;
  /** How Cognito JWKS are fetched; only the local wiring passes a loopback allowance. @default HTTPS only */
  readonly jwksFetcher?: Fetcher;
  /** How registered clients' JWKS URLs are fetched; only the local wiring passes a loopback allowance. @default HTTPS only */
  readonly clientJwksFetcher?: Fetcher;
  /** SMART App Launch (app registry, launch store, Cognito sign-in broker), when offered. */
  readonly appLaunch?: AppLaunchServiceDeps;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Token issuance metrics (EMF lines in AWS). @default none */
  readonly metrics?: Metrics;
}

/** Build the token service from its configuration and adapters. */
export function buildTokenService(config: TokenServiceConfig, adapters: TokenServiceAdapters): ProxyHandler {
  const { authz } = config;
  const verifier = createTokenVerifier({
    issuers: authz.issuers,
    clientIds: [...authz.clients.userClientIds, ...authz.clients.machineClientIds],
    fetcher: adapters.jwksFetcher,
  });
  const links = new CachedLinkStore(new DynamoLinkStore(adapters.dynamo, authz.linksTable), authz.linkCacheTtlSeconds * 1000);
  // SMART Backend Services clients (private_key_jwt), when their tables are configured. The
  // verifiers (and the client JWKS they cache) live as long as the container.
  const cc = config.clientCredentials;
  const clientCredentials: ClientCredentialsDeps | undefined = cc && {
    registry: new DynamoClientRegistry(adapters.dynamo, cc.clientsTable),
    replay: new DynamoReplayStore(adapters.dynamo, cc.replayTable),
    tokenUrl: cc.tokenUrl,
    assertions: createAssertionVerifier(adapters.clientJwksFetcher ? { fetcher: adapters.clientJwksFetcher } : {}),
  };

  const build = async (): Promise<ProxyHandler> => {
    const [signer, ...retiringKeys] = await Promise.all([config.signingKeyId, ...config.retiringKeyIds].map(adapters.signer));
    await verifier.hydrate().catch((err: unknown) => {
      adapters.log({ level: 'warn', event: 'token-exchange.jwks-hydrate-failed', reason: err instanceof Error ? err.message : String(err) });
    });
    return createTokenServiceHandler({
      verifier,
      links,
      clients: authz.clients,
      settings: authz.settings,
      policy: config.policy,
      signer: signer!,
      retiringKeys,
      log: adapters.log,
      ...(clientCredentials ? { clientCredentials } : {}),
      ...(config.cognitoTokenUrl ? { cognito: createCognitoTokenEndpoint(config.cognitoTokenUrl) } : {}),
      ...(adapters.appLaunch ? { appLaunch: adapters.appLaunch } : {}),
      ...(config.corsAllowedOrigins?.length ? { cors: { allowedOrigins: config.corsAllowedOrigins } } : {}),
      ...(adapters.now ? { now: adapters.now } : {}),
    });
  };

  let ready: Promise<ProxyHandler> | undefined;
  return async (event) => {
    ready ??= build().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    let serve: ProxyHandler;
    try {
      serve = await ready;
    } catch (err) {
      adapters.log({ level: 'error', event: 'token-exchange.init-failed', reason: err instanceof Error ? err.message : String(err) });
      return jsonResponse(503, { error: 'temporarily_unavailable', error_description: 'signing key unavailable; no token was issued' });
    }
    const result = await serve(event);
    if (adapters.metrics) recordTokenRequest(adapters.metrics, event, result);
    return result;
  };
}
