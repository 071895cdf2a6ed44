/**
 * The one wiring of the authorizer: configuration plus adapters in, handler out. The Lambda entry
 * (`index.ts`), the local stack and the in-process test stack all call `buildAuthorizer`, so the
 * function that runs in AWS is the function that runs on a laptop; only the adapters differ.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Fetcher } from 'aws-jwt-verify/https';
import type { AuthorizerConfig } from '../adapters/authz-config';
import { CachedLinkStore, DynamoLinkStore, LazyLinkStore } from '../adapters/link-store';
import { createTokenVerifier } from '../adapters/verifier';
import type { Logger } from '../common/log';
import { AuthorizerHandler, createAuthorizerHandler } from './handler';

/** The I/O the authorizer needs, built by the caller. */
export interface AuthorizerAdapters {
  /**
   * The links table's client (with deadlines: adapters/dynamo-client.ts), or a function that
   * builds it on the first link lookup (the Lambda entry: loading the SDK is most of a cold start,
   * and machine tokens never need a link).
   */
  readonly dynamo: DynamoDBClient | (() => Promise<DynamoDBClient>);
  readonly log: Logger;
  /**
   * How JWKS are fetched. Only the local wiring passes an emulator allowance (plain HTTP on
   * loopback, adapters/jwks-fetcher.ts). @default HTTPS only (aws-jwt-verify)
   */
  readonly jwksFetcher?: Fetcher;
  /** aws-jwt-verify's wait after an unknown-kid JWKS fetch. @default 10 */
  readonly unknownKidWaitSeconds?: number;
}

export interface BuiltAuthorizer {
  readonly handler: AuthorizerHandler;
  /** Fetch every JWKS now (cold start), as aws-jwt-verify recommends. */
  hydrate(): Promise<void>;
}

/** Build the authorizer from its configuration and adapters. */
export function buildAuthorizer(config: AuthorizerConfig, adapters: AuthorizerAdapters): BuiltAuthorizer {
  const verifier = createTokenVerifier({
    issuers: config.issuers,
    clientIds: [...config.clients.userClientIds, ...config.clients.machineClientIds],
    fetcher: adapters.jwksFetcher,
    unknownKidWaitSeconds: adapters.unknownKidWaitSeconds,
  });
  const { dynamo } = adapters;
  const store =
    typeof dynamo === 'function'
      ? new LazyLinkStore(async () => new DynamoLinkStore(await dynamo(), config.linksTable))
      : new DynamoLinkStore(dynamo, config.linksTable);
  const links = new CachedLinkStore(store, config.linkCacheTtlSeconds * 1000);
  const handler = createAuthorizerHandler({ verifier, links, clients: config.clients, settings: config.settings, log: adapters.log });
  return { handler, hydrate: () => verifier.hydrate() };
}
