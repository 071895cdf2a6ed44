/**
 * The local FHIR store (Medplum's router and in-memory repository, the same code `npm start`
 * serves over HTTP) as a FhirBackend called in-process, and a gateway in front of the real proxy
 * handler for a principal chosen by the test. For properties that send tens of thousands of
 * requests: no sockets, the same answers.
 */
import type { Resource } from '@medplum/fhirtypes';
import { fhirPolicy } from '../../functions/authorizer/policy';
import type { Principal } from '../../functions/core/principal';
import { principalToContext } from '../../functions/core/principal-context';
import { AuthzSettings, DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { BackendRequest, BackendResponse, FhirBackend } from '../../functions/fhir-proxy/backend';
import { createProxyHandler } from '../../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import type { LogRecord } from '../../functions/common/log';
import { FhirStoreRepository } from '../../local/fhir-store/repository';
import { createStoreRouter, handleStoreRequest } from '../../local/fhir-store/router';
import { loadSeed } from '../../local/fhir-store/seed';
import { GatewayEmulator } from '../../local/gateway/gateway';

export const STORE_BASE = 'http://store.test/datastore/0123456789abcdef0123456789abcdef/r4';

export interface InProcessStore {
  readonly backend: FhirBackend;
  readonly repo: FhirStoreRepository;
}

/** A seeded store answering BackendRequests without HTTP. */
export async function inProcessStore(seed: Resource[]): Promise<InProcessStore> {
  const repo = new FhirStoreRepository();
  repo.baseUrl = STORE_BASE;
  await loadSeed(repo, seed);
  const router = createStoreRouter();
  const backend: FhirBackend = {
    baseUrl: STORE_BASE,
    async send(req: BackendRequest): Promise<BackendResponse> {
      const q = req.path.indexOf('?');
      const path = q < 0 ? req.path : req.path.slice(0, q);
      const query = [...new URLSearchParams(q < 0 ? '' : req.path.slice(q + 1))] as [string, string][];
      const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const res = await handleStoreRequest(router, repo, STORE_BASE, {
        method: req.method,
        segments: path === '' ? [] : path.split('/'),
        query,
        headers,
        ...(req.body !== undefined && !isForm ? { body: JSON.parse(req.body) as unknown } : {}),
        ...(req.body !== undefined && isForm ? { form: [...new URLSearchParams(req.body)] as [string, string][] } : {}),
      });
      return { status: res.status, headers: res.headers, body: res.body === undefined ? '' : JSON.stringify(res.body) };
    },
  };
  return { backend, repo };
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** The real proxy behind the gateway emulation, for whichever principal a call names. */
export function proxyFor(backend: FhirBackend, options: { settings?: AuthzSettings; logs?: LogRecord[] } = {}) {
  const signer = createHmacPageSigner(Buffer.alloc(32, 7));
  const proxy = createProxyHandler({
    backend,
    settings: options.settings ?? DEFAULT_SETTINGS,
    signer,
    discovery: { issuer: 'https://issuer.test/auth', tokenEndpoint: 'https://issuer.test/auth/token', jwksUri: 'https://issuer.test/auth/jwks.json', backendServices: false, clientSecrets: false, scopesSupported: [] },
    log: (record) => options.logs?.push(record),
  });
  return async (principal: Principal, method: string, pathAndQuery: string, body?: unknown): Promise<CallResult> => {
    const gateway = new GatewayEmulator({
      domainName: 'gw.test',
      authorizerCacheTtlSeconds: 0,
      authorizer: async (e) => fhirPolicy('Allow', principal.sub, e.methodArn, principalToContext(principal)),
      proxy,
    });
    const url = new URL(`http://gw.test/fhir/${pathAndQuery}`);
    const contentType = method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json';
    const res = await gateway.handle({
      method,
      path: decodeURIComponent(url.pathname),
      query: [...url.searchParams],
      headers: { authorization: 'Bearer t', ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, headers: { ...res.headers } as Record<string, string>, body: res.body ? (JSON.parse(res.body) as unknown) : undefined };
  };
}
