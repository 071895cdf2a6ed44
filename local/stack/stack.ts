/**
 * The whole fhirgate stack on one machine (docs/local-stack.md): Cognito (cognito-local plus a
 * Cognito-shaped client_credentials endpoint), DynamoDB (dynalite) with the links table, the
 * HealthLake-shaped FHIR store, and the API Gateway emulation running the same authorizer and
 * proxy handler code as the Lambdas, and the example patient portal (a browser app calling the API
 * directly, allowed by CORS). Everything binds to 127.0.0.1.
 *
 * Each function is built by its own `wire.ts`, the very wiring its Lambda entry calls, from the
 * same typed settings object the CDK stack takes (`lib/settings.ts`); only the adapters differ,
 * and the emulator allowances (plain-HTTP JWKS on loopback, a local signing key) are passed in
 * here, never built into the functions.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../functions/adapters/dynamo-client';
import { LoopbackAwareFetcher } from '../../functions/adapters/jwks-fetcher';
import { createTokenVerifier } from '../../functions/adapters/verifier';
import { buildAuthorizer } from '../../functions/authorizer/wire';
import type { TrustedIssuer } from '../../functions/core/settings';
import { buildProxy } from '../../functions/fhir-proxy/wire';
import { BoundedJwksFetcher } from '../../functions/token-exchange/assertion-verifier';
import { TOKEN_SERVICE_ROUTES } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import { AppLaunchPolicy, DEFAULT_APP_LAUNCH_POLICY } from '../../functions/core/app-launch';
import { DynamoAppRegistry } from '../../functions/token-exchange/app-registry';
import { createAppTables } from '../../functions/token-exchange/app-tables';
import { DynamoLaunchStore } from '../../functions/token-exchange/launch-store';
import { createCognitoBroker } from '../../functions/token-exchange/sign-in-broker';
import { APP_TABLES, PORTAL_CLIENT_ID, registerDemoApps } from './apps';
import { buildTokenService } from '../../functions/token-exchange/wire';
import type { CorsConfig } from '../../functions/common/cors';
import { jsonLogger, Logger } from '../../functions/common/log';
import { FhirgateSettings, resolveSettings } from '../../lib/settings';
import { buildPortal, writePortalConfig } from '../../examples/patient-portal/build';
import { startLocalCognito } from '../cognito';
import { demoResources } from '../fhir-store';
import { spawnFhirStore } from '../fhir-store/process';
import { GatewayEmulator } from '../gateway/gateway';
import { startHttpGateway } from '../gateway/http-server';
import { StaticServer, startStaticServer } from '../portal/static-server';
import { DELEGATION_SCOPE, DEMO_MACHINE_CLIENTS, DEMO_USERS } from './demo-world';
import type { StackInfo } from '../../bin/cli/stack-info';

// dynalite ships no types; its factory returns a node http.Server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (options: { createTableMs?: number }) => Server = require('dynalite');

/** Documented default ports; each is overridable, and 0 picks a free port (tests). The portal's default falls back to a free port when busy. */
export const DEFAULT_PORTS = { gateway: 3000, cognito: 9229, token: 9230, dynamo: 8000, fhir: 8090, portal: 5173 } as const;

export interface StackOptions {
  /** Directory for emulator state and stack.json. */
  readonly dir: string;
  readonly ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
  /**
   * The same typed settings object the CDK stack takes (`lib/settings.ts`), validated by the
   * same `resolveSettings`: roles and scopes, cache lifetimes, the exchanged-token lifetime, CORS
   * origins (besides the portal's own) and backend clients (besides the demo one). `backend` is
   * ignored: the local stack always runs its own FHIR store.
   */
  readonly settings?: FhirgateSettings;
  /** SMART App Launch settings (lifetimes, grantable scopes per role). @default DEFAULT_APP_LAUNCH_POLICY */
  readonly appLaunch?: Partial<Omit<AppLaunchPolicy, 'issuer' | 'audience'>>;
  readonly log?: Logger;
  /** The token service's clock (tests move it to expire codes and tokens). @default Date.now */
  readonly now?: () => number;
}

export interface RunningStack {
  readonly info: StackInfo;
  close(): Promise<void>;
}

export const LINKS_TABLE = 'fhirgate-links';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Start every component, seed the demo world, and return the stack description. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const settings = resolveSettings(options.settings);
  const log = options.log ?? jsonLogger;
  await mkdir(options.dir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    // Cognito, the FHIR store and the portal bundle start in parallel: cognito-local is the slow one.
    const portalDir = join(options.dir, 'portal');
    const [cognito, store, dynamo] = await Promise.all([
      startLocalCognito({
        dir: join(options.dir, 'cognito'),
        port: ports.cognito,
        tokenPort: ports.token,
        users: DEMO_USERS.map((u) => ({ username: u.username, password: u.password, group: u.role })),
        machineClients: DEMO_MACHINE_CLIENTS.map((c) => ({ name: c.name, scopes: [...c.scopes] })),
      }),
      spawnFhirStore(ports.fhir),
      startDynalite(ports.dynamo),
      buildPortal(portalDir),
    ]);
    closers.push(() => cognito.close(), () => store.close(), () => dynamo.close());
    const portal = await startPortal(portalDir, options.ports?.portal);
    closers.push(() => portal.close());
    // The portal's own origin is always allowed; 127.0.0.1, never `localhost`: a different origin.
    const cors: CorsConfig = { allowedOrigins: [...new Set([portal.origin, ...settings.corsAllowedOrigins])] };

    const subs = new Map(cognito.users.map((u) => [u.username, u.sub]));
    await seedLinks(dynamo.client, DEMO_USERS.map((u) => ({ ...u, sub: subs.get(u.username)! })));

    const machineIds = cognito.machineClients.map((c) => c.clientId);
    // A SMART Backend Services client (private_key_jwt): registered in the client registry with
    // its public key; its private key is handed out in stack.json (local only) for demos and tests.
    await createClientTables(dynamo.client, CLIENT_TABLES);
    const backendClient = await registerDemoBackendClient(dynamo.client);
    await createAppTables(dynamo.client, APP_TABLES);
    const apps = await registerDemoApps(dynamo.client, portal.url);
    const clients = { userClientIds: [cognito.webClientId], machineClientIds: machineIds, backendClientIds: [backendClient.clientId, ...settings.backendClientIds] };
    const cognitoIssuer: TrustedIssuer = { kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri };
    const authz = { clients, linksTable: LINKS_TABLE, linkCacheTtlSeconds: settings.linkCacheTtlSeconds, settings: settings.authz };
    // Emulator allowances, passed in: cognito-local and the token service serve JWKS over plain HTTP on loopback.
    const jwksFetcher = new LoopbackAwareFetcher();
    const signer = createLocalSigner();

    // Everything that names the gateway's own URL (public FHIR base, exchange issuer) is built
    // once the gateway listens and its port is known.
    const gateway = await startHttpGateway(ports.gateway, ({ host, url }) => {
      const fhirBaseUrl = `${url}/fhir`;
      const tokenUrl = `${url}${TOKEN_SERVICE_ROUTES.token}`;
      const exchangeIssuer = `${url}/auth`;
      const authorizer = buildAuthorizer(
        { ...authz, issuers: [cognitoIssuer, { kind: 'fhirgate-exchange', issuer: exchangeIssuer, jwksUri: `${url}${TOKEN_SERVICE_ROUTES.jwks}`, audience: fhirBaseUrl }] },
        { dynamo: dynamo.client, log, jwksFetcher },
      );
      const tokenService = buildTokenService(
        {
          // Subject and actor tokens come from Cognito only: exchanged tokens cannot be exchanged again.
          authz: { ...authz, issuers: [cognitoIssuer] },
          policy: { issuer: exchangeIssuer, audience: fhirBaseUrl, delegationScope: DELEGATION_SCOPE, delegableScopes: ['patient/*.rs'], lifetimeSeconds: settings.exchangedTokenLifetimeSeconds },
          signingKeyId: 'local',
          retiringKeyIds: [],
          clientCredentials: { clientsTable: CLIENT_TABLES.clients, replayTable: CLIENT_TABLES.replay, tokenUrl },
          // Secret-based client_credentials are forwarded to Cognito's token endpoint (here the emulator's).
          cognitoTokenUrl: cognito.tokenUrl,
          // The portal redeems its code from the page: the token service answers CORS itself, as in AWS.
          corsAllowedOrigins: cors.allowedOrigins,
        },
        {
          dynamo: dynamo.client,
          signer: async () => signer,
          log,
          jwksFetcher,
          clientJwksFetcher: new BoundedJwksFetcher(3000, 64 * 1024, true),
          ...(options.now ? { now: options.now } : {}),
          appLaunch: {
            apps: new DynamoAppRegistry(dynamo.client, APP_TABLES.apps),
            store: new DynamoLaunchStore(dynamo.client, APP_TABLES.launch),
            // Sign-in through the local Cognito's managed login, with the same broker code as in AWS.
            broker: createCognitoBroker({
              domain: cognito.domain,
              clientId: cognito.broker.clientId,
              clientSecret: cognito.broker.clientSecret,
              callbackUrl: `${url}${TOKEN_SERVICE_ROUTES.callback}`,
              verifier: createTokenVerifier({ issuers: [cognitoIssuer], clientIds: [cognito.broker.clientId], fetcher: jwksFetcher }),
            }),
            policy: { ...DEFAULT_APP_LAUNCH_POLICY, ...options.appLaunch, issuer: exchangeIssuer, audience: fhirBaseUrl },
          },
        },
      );
      const proxy = buildProxy(
        {
          backendUrl: store.baseUrl,
          settings: settings.authz,
          paging: { kind: 'hmac', key: randomBytes(32) },
          publicBaseUrl: fhirBaseUrl,
          discovery: {
            issuer: exchangeIssuer,
            tokenEndpoint: tokenUrl,
            jwksUri: `${url}${TOKEN_SERVICE_ROUTES.jwks}`,
            backendServices: true,
            clientSecrets: true,
            cognito: { issuer: cognito.issuer, tokenEndpoint: cognito.tokenUrl },
            scopesSupported: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs'],
            appLaunch: { authorizationEndpoint: `${url}${TOKEN_SERVICE_ROUTES.authorize}` },
          },
          backendTimeoutMs: 10_000,
          corsAllowedOrigins: cors.allowedOrigins,
        },
        { log },
      );
      return new GatewayEmulator({
        authorizer: authorizer.handler,
        proxy,
        publicIntegrations: [
          { method: 'ANY', path: TOKEN_SERVICE_ROUTES.token, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.jwks, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.metadata, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.issuerMetadata, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.openidConfiguration, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.authorize, handler: tokenService },
          { method: 'GET', path: TOKEN_SERVICE_ROUTES.callback, handler: tokenService },
          { method: 'POST', path: TOKEN_SERVICE_ROUTES.picker, handler: tokenService },
        ],
        authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
        domainName: host,
        stage: 'local',
        cors,
      });
    });
    closers.push(() => gateway.close());
    await cognito.setBrokerCallback(`${gateway.url}${TOKEN_SERVICE_ROUTES.callback}`);
    await writePortalConfig(portalDir, { fhirBaseUrl: `${gateway.url}/fhir`, clientId: PORTAL_CLIENT_ID });

    const info: StackInfo = {
      fhirBaseUrl: `${gateway.url}/fhir`,
      backendFhirBaseUrl: store.baseUrl,
      tokenExchangeUrl: `${gateway.url}${TOKEN_SERVICE_ROUTES.token}`,
      exchangeIssuer: `${gateway.url}/auth`,
      apps,
      portalUrl: portal.url,
      corsAllowedOrigins: cors.allowedOrigins,
      cognito: {
        endpoint: cognito.endpoint,
        region: cognito.region,
        userPoolId: cognito.userPoolId,
        issuer: cognito.issuer,
        jwksUri: cognito.jwksUri,
        tokenUrl: cognito.tokenUrl,
        webClientId: cognito.webClientId,
      },
      dynamodb: { endpoint: dynamo.endpoint, linksTable: LINKS_TABLE, clientsTable: CLIENT_TABLES.clients, replayTable: CLIENT_TABLES.replay, appsTable: APP_TABLES.apps, launchTable: APP_TABLES.launch },
      backendClients: [{ ...backendClient, tokenUrl: `${gateway.url}${TOKEN_SERVICE_ROUTES.token}` }],
      machineClients: cognito.machineClients.map((c) => ({ name: c.name, clientId: c.clientId, clientSecret: c.clientSecret, scopes: c.scopes })),
      users: DEMO_USERS.map((u) => ({ username: u.username, password: u.password, role: u.role, fhirUser: u.fhirUser, patients: [...u.patients], sub: subs.get(u.username)! })),
      patients: demoPatients(),
      authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
      linkCacheTtlSeconds: settings.linkCacheTtlSeconds,
      processes: [
        { name: 'fhirgate', pid: process.pid },
        { name: 'cognito-local', pid: cognito.pid },
        { name: 'fhir-store', pid: store.pid },
      ],
    };
    return { info, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The portal's static server. Only on the default port, a busy port falls back to a free one (as
 * Vite does with 5173), so a test run or a second stack beside `npm start` still starts; the CORS
 * allow-list is built from the port actually bound. A port set explicitly is used or fails.
 */
async function startPortal(dir: string, port: number | undefined): Promise<StaticServer> {
  if (port !== undefined) return startStaticServer(dir, port);
  try {
    return await startStaticServer(dir, DEFAULT_PORTS.portal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return startStaticServer(dir, 0);
  }
}

async function startDynalite(port: number): Promise<{ endpoint: string; client: DynamoDBClient; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createDynamoClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  await client.send(
    new CreateTableCommand({
      TableName: LINKS_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'sub', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }],
    }),
  );
  return {
    endpoint,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** Local registry and replay tables (the CDK stack creates the same from clientTableDefinitions). */
const CLIENT_TABLES = { clients: 'fhirgate-clients', replay: 'fhirgate-client-assertions' };

/** Register the demo backend client `backend-sync` with a fresh ES384 key and its public JWKS inline. */
async function registerDemoBackendClient(client: DynamoDBClient): Promise<{ clientId: string; kid: string; alg: 'ES384'; privateKeyPem: string; scopes: string[] }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const clientId = 'backend-sync';
  const kid = `${clientId}-1`;
  const scopes = ['system/*.rs'];
  await putBackendClient(client, CLIENT_TABLES.clients, {
    clientId,
    status: 'active',
    scopes,
    name: 'demo SMART Backend Services client (private_key_jwt)',
    keys: { kind: 'jwks', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' }] } },
  });
  return { clientId, kid, alg: 'ES384', privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), scopes };
}

async function seedLinks(client: DynamoDBClient, users: { sub: string; role: string; fhirUser: string; patients: readonly string[] }[]): Promise<void> {
  for (const u of users) {
    await client.send(
      new PutItemCommand({
        TableName: LINKS_TABLE,
        Item: { sub: { S: u.sub }, role: { S: u.role }, fhirUser: { S: u.fhirUser }, patients: { L: u.patients.map((p) => ({ S: p })) } },
      }),
    );
  }
}

function demoPatients(): StackInfo['patients'] {
  return demoResources()
    .filter((r) => r.resourceType === 'Patient')
    .map((p) => {
      const name = (p as { name?: { given?: string[]; family?: string }[] }).name?.[0];
      return { id: p.id!, name: [...(name?.given ?? []), name?.family ?? ''].join(' ').trim() };
    });
}
