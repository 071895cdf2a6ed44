/**
 * The request path assembled in one process for integration tests: a token issuer (JWKS over
 * HTTP), dynalite with link records, the local FHIR store over HTTP with the demo data, the real
 * authorizer and proxy handlers, and the API Gateway emulation between them.
 *
 * `tamper` lets a test rewrite what the backend answers (for example, slip another patient's
 * resource into a search result) to prove the post-filter, not just the narrowing.
 */
import { randomBytes } from 'node:crypto';
import { createDynamoClient } from '../../functions/adapters/dynamo-client';
import { LoopbackAwareFetcher } from '../../functions/adapters/jwks-fetcher';
import { buildAuthorizer } from '../../functions/authorizer/wire';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { BackendRequest, BackendResponse, FhirBackend } from '../../functions/fhir-proxy/backend';
import { buildProxy } from '../../functions/fhir-proxy/wire';
import type { CorsConfig } from '../../functions/common/cors';
import type { LogRecord } from '../../functions/common/log';
import { GatewayEmulator } from '../../local/gateway/gateway';
import { createFhirStoreServer, demoResources, FhirStoreServer } from '../../local/fhir-store';
import { startHttpGateway } from '../../local/gateway/http-server';
import { LOCAL_CREDENTIALS, startDynalite, TestDynamo } from './dynalite';
import { FaultProxy, startFaultProxy } from './fault-proxy';
import { startTestIssuer, TestIssuer } from './jwt-issuer';

export const WEB_CLIENT = 'web';
export const API_SERVER = 'api-server';
export const ANALYTICS = 'analytics';

/** Demo users: sub → link record. */
export const USERS = {
  alice: { sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] },
  bob: { sub: 'u-bob', role: 'patient', fhirUser: 'Patient/pat-bob', patients: ['pat-bob'] },
  guardian: { sub: 'u-dana', role: 'guardian', fhirUser: 'RelatedPerson/rp-carol-mother', patients: ['pat-carol'] },
  doctor: { sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-alice'] },
} as const;

export type Tamper = (req: BackendRequest, res: BackendResponse) => BackendResponse;

export interface InProcessStackOptions {
  /** Put each dependency (JWKS, DynamoDB, FHIR store) behind a fault proxy, and serve over HTTP. */
  readonly faults?: boolean;
  /** Backend deadline for the proxy. @default 5000 */
  readonly backendTimeoutMs?: number;
  /** aws-jwt-verify's wait after a failed or unknown-kid JWKS fetch. @default 10 */
  readonly unknownKidWaitSeconds?: number;
  /** CORS allow-list for the gateway and the proxy. */
  readonly cors?: CorsConfig;
}

/** The fault proxies in front of each dependency (only with `faults: true`). */
export interface StackFaults {
  readonly jwks: FaultProxy;
  readonly dynamo: FaultProxy;
  readonly fhir: FaultProxy;
  /** The gateway over HTTP, e.g. http://127.0.0.1:1234 (requests go through `call` either way). */
  readonly gatewayUrl: string;
}

export interface InProcessStack {
  readonly store: FhirStoreServer;
  readonly issuer: TestIssuer;
  readonly faults?: StackFaults;
  readonly gateway: GatewayEmulator;
  readonly logs: LogRecord[];
  tamper: Tamper | undefined;
  /** A user access token (Cognito InitiateAuth shape), optionally with FHIR scopes. */
  userToken(user: keyof typeof USERS, scope?: string): string;
  /** A machine token (client_credentials shape). */
  machineToken(scope: string, clientId?: string): string;
  /** Call the gateway: path below `/fhir/`. */
  call(token: string | undefined, method: string, path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startInProcessStack(options: InProcessStackOptions = {}): Promise<InProcessStack> {
  const issuer: TestIssuer = await startTestIssuer();
  const dynamo: TestDynamo = await startDynalite();
  for (const link of Object.values(USERS)) await dynamo.putLink({ ...link, patients: [...link.patients] });
  const store = await createFhirStoreServer({ port: 0, seed: demoResources() });
  const logs: LogRecord[] = [];
  const log = (r: LogRecord) => logs.push(r);
  const proxies = options.faults
    ? {
        jwks: await startFaultProxy(Number(new URL(issuer.jwksUri).port)),
        dynamo: await startFaultProxy(Number(new URL(dynamo.endpoint).port)),
        fhir: await startFaultProxy(store.port),
      }
    : undefined;
  const via = (url: string, proxy: FaultProxy | undefined) => (proxy ? url.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${proxy.port}`) : url);

  // The same wiring the Lambda entries call (functions/*/wire.ts), with local adapters.
  const authorizer = buildAuthorizer(
    {
      issuers: [{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: via(issuer.jwksUri, proxies?.jwks) }],
      clients: { userClientIds: [WEB_CLIENT], machineClientIds: [API_SERVER, ANALYTICS] },
      linksTable: dynamo.tableName,
      linkCacheTtlSeconds: 0,
      settings: DEFAULT_SETTINGS,
    },
    {
      dynamo: proxies ? createDynamoClient({ endpoint: via(dynamo.endpoint, proxies.dynamo), region: 'us-east-1', credentials: LOCAL_CREDENTIALS }) : dynamo.client,
      log,
      jwksFetcher: new LoopbackAwareFetcher(),
      unknownKidWaitSeconds: options.unknownKidWaitSeconds,
    },
  ).handler;
  const state = { tamper: undefined as Tamper | undefined };
  const tampering = (http: FhirBackend): FhirBackend => ({
    baseUrl: http.baseUrl,
    async send(req) {
      const res = await http.send(req);
      return state.tamper ? state.tamper(req, res) : res;
    },
  });
  const proxy = buildProxy(
    {
      backendUrl: via(store.baseUrl, proxies?.fhir),
      backendTimeoutMs: options.backendTimeoutMs ?? 5000,
      settings: DEFAULT_SETTINGS,
      paging: { kind: 'hmac', key: randomBytes(32) },
      discovery: { issuer: 'https://gateway.test/auth', tokenEndpoint: 'https://gateway.test/auth/token', jwksUri: 'https://gateway.test/auth/jwks.json', backendServices: false, clientSecrets: false, scopesSupported: ['patient/*.rs'] },
      corsAllowedOrigins: options.cors?.allowedOrigins ?? [],
    },
    { log, interceptBackend: tampering },
  );
  const gateway = new GatewayEmulator({ authorizer, proxy, domainName: 'gateway.test', authorizerCacheTtlSeconds: 0, cors: options.cors });
  const httpGateway = proxies ? await startHttpGateway(0, () => gateway) : undefined;

  const stack: InProcessStack = {
    store,
    issuer,
    faults: proxies && httpGateway ? { ...proxies, gatewayUrl: httpGateway.url } : undefined,
    gateway,
    logs,
    get tamper() {
      return state.tamper;
    },
    set tamper(t) {
      state.tamper = t;
    },
    userToken(user, scope = 'aws.cognito.signin.user.admin') {
      const sub = USERS[user].sub;
      return issuer.token({ sub, username: sub, client_id: WEB_CLIENT, scope });
    },
    machineToken(scope, clientId = API_SERVER) {
      return issuer.token({ sub: clientId, client_id: clientId, scope });
    },
    async call(token, method, path, callOptions = {}) {
      const headers: Record<string, string> = { ...(callOptions.headers ?? {}) };
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (callOptions.body !== undefined) {
        body = typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body);
        headers['content-type'] ??= 'application/fhir+json';
      }
      if (httpGateway) {
        const res = await fetch(`${httpGateway.url}/fhir/${path}`, { method, headers, body });
        const text = await res.text();
        return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
      }
      const url = new URL(`http://x/fhir/${path}`);
      const res = await gateway.handle({ method, path: decodeURIComponent(url.pathname), query: [...url.searchParams], headers, body });
      return { status: res.status, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
    },
    async close() {
      await httpGateway?.close();
      for (const p of Object.values(proxies ?? {})) await p.close();
      await store.close();
      await dynamo.close();
      await issuer.close();
    },
  };
  return stack;
}

/** Every resource a response carries: the resource itself, bundle entries, nested bundles. */
export function resourcesIn(body: any): any[] {
  if (!body || typeof body !== 'object') return [];
  if (body.resourceType === 'Bundle') return (body.entry ?? []).flatMap((e: any) => resourcesIn(e.resource));
  return [body];
}

/** `Type/id` keys of every resource in a response. */
export function keysIn(body: any): string[] {
  return resourcesIn(body).map((r) => `${r.resourceType}/${r.id}`);
}
