/**
 * The FHIR proxy (PEP) Lambda, as a function of its dependencies. One straight line per request:
 * discovery (public) → principal from the authorizer context → parse → enforce → bound the
 * response size → audit → respond.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { FhirRequest, HttpRequest, parseFhirRequest } from '../core/fhir-request';
import type { PageSigner } from '../core/paging';
import { Principal } from '../core/principal';
import { principalFromContext } from '../core/principal-context';
import type { AuthzSettings } from '../core/settings';
import { CorsConfig, corsHeaders, preflight } from '../common/cors';
import type { Logger } from '../common/log';
import type { Metrics } from '../common/metrics';
import { auditRecord } from './audit';
import type { FhirBackend } from './backend';
import { capabilityStatement, DiscoveryConfig, smartConfiguration } from './discovery';
import { httpRequestFromEvent, publicBaseFromEvent, toProxyResult } from './event';
import type { ExportConfig } from './export-config';
import { enforce } from './pep';
import { PublicUrls } from './public-urls';
import { recordDecision } from './metrics';
import type { AuditNotes } from './pep-context';
import { MAX_RESPONSE_BYTES, oversizeBytes, pageBudgetChars, responseTooLarge } from './response-bound';
import { codeOf, json, ProxyResponse, responseForThrown } from './responses';

export interface ProxyDeps {
  readonly backend: FhirBackend;
  readonly settings: AuthzSettings;
  readonly signer: PageSigner;
  readonly discovery: DiscoveryConfig;
  /** Public FHIR base when behind a custom domain; otherwise derived from the event. */
  readonly publicBaseUrl?: string;
  readonly log: Logger;
  /** Request body limit in bytes. @default 5 MiB */
  readonly maxBodyBytes?: number;
  /** Origins of first-party frontends allowed to call the API from a browser. */
  readonly cors?: CorsConfig;
  /** Bulk Data `$export` backend settings (HealthLake target, S3 reader, job lifetime). */
  readonly exports?: ExportConfig;
  /** Largest serialized result in bytes (response-bound.ts). @default MAX_RESPONSE_BYTES */
  readonly maxResponseBytes?: number;
  /** Decisions and removed entries (metrics.ts). @default noMetrics */
  readonly metrics?: Metrics;
}

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Where the caller reached the API: its public FHIR base, and what is derived from it. */
interface Site {
  readonly publicBase: string;
  readonly urls: PublicUrls;
  readonly ownBaseUrls: readonly string[];
}

/** Create the proxy handler over its dependencies. */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const budget = pageBudgetChars(deps.maxResponseBytes ?? MAX_RESPONSE_BYTES);
  // Per public base (one per stage or custom domain): its URL mapper and the frozen list of the
  // bases references may name, which core's reference parser checks once per list it sees. The
  // last one is kept by what it is built from, so a request to the same stage builds no string.
  const sites = new Map<string, Site>();
  let last: { readonly domainName: unknown; readonly stage: unknown; readonly site: Site } | undefined;
  const siteOf = (event: APIGatewayProxyEvent): Site => {
    const { domainName, stage } = event.requestContext ?? {};
    if (last && last.domainName === domainName && last.stage === stage) return last.site;
    const publicBase = publicBaseFromEvent(event, deps.publicBaseUrl);
    let site = sites.get(publicBase);
    if (!site) {
      if (sites.size >= 16) sites.clear(); // the domain and stage come from API Gateway, not the client; bounded all the same
      site = { publicBase, urls: new PublicUrls(publicBase, deps.backend.baseUrl), ownBaseUrls: Object.freeze([deps.backend.baseUrl, publicBase]) };
      sites.set(publicBase, site);
    }
    last = { domainName, stage, site };
    return site;
  };
  return async (event) => {
    const origin = headerOf(event, 'origin');
    // Preflights carry no token (API Gateway routes OPTIONS here without the authorizer).
    if (event.httpMethod === 'OPTIONS') {
      const answer = preflight(origin, deps.cors);
      return { statusCode: answer.status, headers: answer.headers, body: '' };
    }
    const cors = corsHeaders(origin, deps.cors);
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const { publicBase, urls, ownBaseUrls } = siteOf(event);
    const audit: AuditNotes = { removed: 0, codes: [] };
    let code: string | undefined;
    let principal: Principal | undefined;
    let request: FhirRequest | undefined;
    let response: ProxyResponse;
    try {
      const http = httpRequestFromEvent(event);
      const discovery = discoveryResponse(deps, http, publicBase);
      if (discovery) return toProxyResult(discovery, cors);
      principal = principalFromContext(event.requestContext?.authorizer);
      request = parseFhirRequest(http, { maxBodyBytes: deps.maxBodyBytes });
      response = await enforce(
        { principal, settings: deps.settings, backend: deps.backend, signer: deps.signer, urls, ownBaseUrls, exports: deps.exports, audit, pageBudgetChars: budget },
        request,
      );
    } catch (err) {
      response = responseForThrown(err);
      // The audit line keeps the real reason as a code (out-of-compartment vs missing); the
      // message stays out of it, as it may quote what the caller typed.
      code = codeOf(err);
      if (response.status >= 500) deps.log({ level: 'error', event: 'fhir.error', requestId, error: err instanceof Error ? err.stack : String(err) });
    }
    let result = toProxyResult(response, cors);
    const limit = deps.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    const oversize = oversizeBytes(result, limit);
    if (oversize !== undefined) {
      // Lambda would drop it and API Gateway answer a bare 502: say so ourselves, and audit that.
      response = responseTooLarge(oversize, limit);
      code = 'ERR_PAYLOAD_TOO_LARGE';
      result = toProxyResult(response, cors);
    }
    deps.log(auditRecord({ requestId, principal, method: event.httpMethod, request, status: response.status, removed: audit.removed, code, entryCodes: audit.codes, export: audit.export }));
    if (deps.metrics) recordDecision(deps.metrics, response, request?.interaction, audit.removed, code);
    return result;
  };
}

/** A header of the event by its lower-case name, whatever case the client sent it in. */
function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (key.length === name.length && value !== undefined && key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** Public discovery routes, answered here without the backend; undefined for everything else. */
function discoveryResponse(deps: ProxyDeps, http: HttpRequest, publicBase: string): ProxyResponse | undefined {
  if (http.method !== 'GET') return undefined;
  if (http.path === '/.well-known/smart-configuration') {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: smartConfiguration(deps.discovery) };
  }
  if (http.path === '/metadata') {
    // Parsed like any FHIR request first: `_format=xml`, an XML-only Accept or a stray parameter get the same answers here.
    parseFhirRequest(http, { maxBodyBytes: deps.maxBodyBytes });
    return json(200, capabilityStatement(deps.discovery, deps.settings, publicBase));
  }
  return undefined;
}
