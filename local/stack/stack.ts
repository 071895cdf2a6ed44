/**
 * The whole fhirgate stack on one machine (DESIGN.md "Local stack"): Cognito (cognito-local plus a
 * Cognito-shaped client_credentials endpoint), DynamoDB (dynalite) with the links table, the
 * HealthLake-shaped FHIR store, and the API Gateway emulation running the same authorizer and
 * proxy handler code as the Lambdas, and the example patient portal (a browser app calling the API
 * directly, allowed by CORS). Everything binds to 127.0.0.1.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../functions/authorizer/dynamo-client';
import { createAuthorizerHandler } from '../../functions/authorizer/handler';
import { CachedLinkStore, DynamoLinkStore } from '../../functions/authorizer/link-store';
import { createTokenVerifier } from '../../functions/authorizer/verifier';
import { AuthzSettings, DEFAULT_SETTINGS } from '../../functions/core/settings';
import { createHttpBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createTokenServiceHandler, TOKEN_SERVICE_ROUTES } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { createCognitoTokenEndpoint } from '../../functions/token-exchange/cognito-token-endpoint';
import { DynamoClientRegistry } from '../../functions/token-exchange/client-registry';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import { DynamoReplayStore } from '../../functions/token-exchange/replay-store';
import { AppLaunchPolicy, DEFAULT_APP_LAUNCH_POLICY } from '../../functions/core/app-launch';
import { DynamoAppRegistry } from '../../functions/token-exchange/app-registry';
import { createAppTables } from '../../functions/token-exchange/app-tables';
import { DynamoLaunchStore } from '../../functions/token-exchange/launch-store';
import { createCognitoBroker } from '../../functions/token-exchange/sign-in-broker';
import { APP_TABLES, PORTAL_CLIENT_ID, registerDemoApps } from './apps';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import type { CorsConfig } from '../../functions/shared/cors';
import { jsonLogger, Logger } from '../../functions/shared/log';
import { buildPortal, writePortalConfig } from '../../examples/patient-portal/build';
import { startLocalCognito } from '../cognito';
import { demoResources } from '../fhir-store';
import { spawnFhirStore } from '../fhir-store/process';
import { GatewayEmulator } from '../gateway/gateway';
import { startHttpGateway } from '../gateway/http-server';
import { StaticServer, startStaticServer } from '../portal/static-server';
import { DELEGATION_SCOPE, DEMO_MACHINE_CLIENTS, DEMO_USERS } from './demo-world';
import { StackInfo } from './stack-info';

// dynalite ships no types; its factory returns a node http.Server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (options: { createTableMs?: number }) => Server = require('dynalite');

/** Documented default ports; each is overridable, and 0 picks a free port (tests). The portal's default falls back to a free port when busy. */
export const DEFAULT_PORTS = { gateway: 3000, cognito: 9229, token: 9230, dynamo: 8000, fhir: 8090, portal: 5173 } as const;

export interface StackOptions {
  /** Directory for emulator state and stack.json. */
  readonly dir: string;
  readonly ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
  readonly settings?: AuthzSettings;
  /** Seconds API Gateway caches an authorizer result per token. @default 300 */
  readonly authorizerCacheTtlSeconds?: number;
  /** Seconds the authorizer caches a link record. @default 60 */
  readonly linkCacheTtlSeconds?: number;
  /** Lifetime of exchanged (on-behalf-of) tokens, at most 300. @default 300 */
  readonly exchangeLifetimeSeconds?: number;
  /** SMART App Launch settings (lifetimes, grantable scopes per role). @default DEFAULT_APP_LAUNCH_POLICY */
  readonly appLaunch?: Partial<Omit<AppLaunchPolicy, 'issuer' | 'audience'>>;
  /** Origins allowed by CORS besides the portal's own (exact, e.g. `http://127.0.0.1:8080`). */
  readonly corsOrigins?: readonly string[];
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
  const settings = options.settings ?? DEFAULT_SETTINGS;
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
    const cors: CorsConfig = { allowedOrigins: [...new Set([portal.origin, ...(options.corsOrigins ?? [])])] };

    const subs = new Map(cognito.users.map((u) => [u.username, u.sub]));
    await seedLinks(dynamo.client, DEMO_USERS.map((u) => ({ ...u, sub: subs.get(u.username)! })));

    const machineIds = cognito.machineClients.map((c) => c.clientId);
    // A SMART Backend Services client (private_key_jwt): registered in the client registry with
    // its public key; its private key is handed out in stack.json (local only) for demos and tests.
    await createClientTables(dynamo.client, CLIENT_TABLES);
    const backendClient = await registerDemoBackendClient(dynamo.client);
    await createAppTables(dynamo.client, APP_TABLES);
    const apps = await registerDemoApps(dynamo.client, portal.url);
    const clients = { userClientIds: [cognito.webClientId], machineClientIds: machineIds, backendClientIds: [backendClient.clientId] };
    const cognitoIssuer = { kind: 'cognito-compatible' as const, issuer: cognito.issuer, jwksUri: cognito.jwksUri };
    const links = new CachedLinkStore(new DynamoLinkStore(dynamo.client, LINKS_TABLE), (options.linkCacheTtlSeconds ?? 60) * 1000);
    const signer = createLocalSigner();

    // Everything that names the gateway's own URL (public FHIR base, exchange issuer) is built
    // once the gateway listens and its port is known.
    const gateway = await startHttpGateway(ports.gateway, ({ host, url }) => {
      const fhirBaseUrl = `${url}/fhir`;
      const exchange = { issuer: `${url}/auth`, audience: fhirBaseUrl, delegationScope: DELEGATION_SCOPE, delegableScopes: ['patient/*.rs'], lifetimeSeconds: options.exchangeLifetimeSeconds ?? 300 };
      const authorizer = createAuthorizerHandler({
        verifier: createTokenVerifier({
          issuers: [cognitoIssuer, { kind: 'fhirgate-exchange', issuer: exchange.issuer, jwksUri: `${url}${TOKEN_SERVICE_ROUTES.jwks}`, audience: fhirBaseUrl }],
          clientIds: [cognito.webClientId, ...machineIds],
        }),
        links,
        clients,
        settings,
        log,
      });
      const tokenService = createTokenServiceHandler({
        // Subject and actor tokens come from Cognito only: exchanged tokens cannot be exchanged again.
        verifier: createTokenVerifier({ issuers: [cognitoIssuer], clientIds: [cognito.webClientId, ...machineIds] }),
        links,
        clients,
        settings,
        policy: exchange,
        signer,
        log,
        ...(options.now ? { now: options.now } : {}),
        clientCredentials: {
          registry: new DynamoClientRegistry(dynamo.client, CLIENT_TABLES.clients),
          replay: new DynamoReplayStore(dynamo.client, CLIENT_TABLES.replay),
          tokenUrl: `${url}${TOKEN_SERVICE_ROUTES.token}`,
        },
        cognito: createCognitoTokenEndpoint(cognito.tokenUrl),
        appLaunch: {
          apps: new DynamoAppRegistry(dynamo.client, APP_TABLES.apps),
          store: new DynamoLaunchStore(dynamo.client, APP_TABLES.launch),
          // Sign-in through the local Cognito's managed login, with the same broker code as in AWS.
          broker: createCognitoBroker({
            domain: cognito.domain,
            clientId: cognito.broker.clientId,
            clientSecret: cognito.broker.clientSecret,
            callbackUrl: `${url}${TOKEN_SERVICE_ROUTES.callback}`,
            verifier: createTokenVerifier({ issuers: [cognitoIssuer], clientIds: [cognito.broker.clientId] }),
          }),
          policy: { ...DEFAULT_APP_LAUNCH_POLICY, ...options.appLaunch, issuer: exchange.issuer, audience: fhirBaseUrl },
        },
      });
      const proxy = createProxyHandler({
        publicBaseUrl: fhirBaseUrl,
        backend: createHttpBackend({ baseUrl: store.baseUrl }),
        settings,
        signer: createHmacPageSigner(randomBytes(32)),
        discovery: {
          issuer: exchange.issuer,
          tokenEndpoint: `${url}${TOKEN_SERVICE_ROUTES.token}`,
          jwksUri: `${url}${TOKEN_SERVICE_ROUTES.jwks}`,
          backendServices: true,
          clientSecrets: true,
          cognito: { issuer: cognito.issuer, tokenEndpoint: cognito.tokenUrl },
          scopesSupported: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs'],
          appLaunch: { authorizationEndpoint: `${url}${TOKEN_SERVICE_ROUTES.authorize}` },
        },
        cors,
        log,
      });
      return new GatewayEmulator({
        authorizer,
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
        authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? 300,
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
      authorizerCacheTtlSeconds: options.authorizerCacheTtlSeconds ?? 300,
      linkCacheTtlSeconds: options.linkCacheTtlSeconds ?? 60,
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
