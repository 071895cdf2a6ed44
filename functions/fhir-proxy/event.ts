/**
 * API Gateway REST proxy events in and out. The request below the FHIR base is rebuilt from the
 * event; the public FHIR base (for rewriting backend URLs) is taken from configuration or from
 * the event's domain and stage, never from a client header such as X-Forwarded-Host.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { RequestError } from '../core/errors';
import type { HttpRequest } from '../core/fhir-request';
import type { ProxyResponse } from './responses';

/** Largest header block accepted (API Gateway itself stops at 10 KB per header). */
const MAX_HEADER_BYTES = 16 * 1024;

/** Headers fhirgate reads whose second value would let a client pick which one a check sees. */
const SINGLE_VALUED: ReadonlySet<string> = new Set(['content-type', 'if-match', 'if-none-exist']);

/** The FHIR request below the base. The route is `/fhir/{proxy+}`, so the proxy path parameter is it. */
export function httpRequestFromEvent(event: APIGatewayProxyEvent): HttpRequest {
  const headers: Record<string, string> = {};
  let headerBytes = 0;
  const multi = event.multiValueHeaders ?? {};
  for (const name of Object.keys(multi)) {
    const list = multi[name] ?? [];
    const key = name.toLowerCase();
    headerBytes += key.length;
    for (const value of list) headerBytes += value.length;
    if (list.length > 1 && SINGLE_VALUED.has(key)) throw new RequestError('ERR_BAD_REQUEST', `header ${key} sent more than once`);
    if (list.length > 0) headers[key] = list.length === 1 ? list[0]! : list.join(', ');
  }
  const single = event.headers ?? {};
  for (const name of Object.keys(single)) {
    const key = name.toLowerCase();
    const value = single[name];
    if (headers[key] === undefined && value !== undefined) {
      headers[key] = value;
      headerBytes += key.length + value.length;
    }
  }
  if (headerBytes > MAX_HEADER_BYTES) throw new RequestError('ERR_BAD_REQUEST', 'request headers too large', {}, 431);
  const query: [string, string][] = [];
  const multiQuery = event.multiValueQueryStringParameters;
  if (multiQuery) {
    for (const key of Object.keys(multiQuery)) for (const value of multiQuery[key] ?? []) query.push([key, value]);
  } else if (event.queryStringParameters) {
    const singleQuery = event.queryStringParameters;
    for (const key of Object.keys(singleQuery)) {
      const value = singleQuery[key];
      if (value !== undefined) query.push([key, value]);
    }
  }
  const path = pathBelowFhirBase(event);
  const body = event.body == null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return { method: event.httpMethod, path, query, headers, body };
}

/**
 * The request path below the FHIR base. API Gateway fills `pathParameters.proxy` only on the
 * `/fhir/{proxy+}` route; the explicit public routes (`/fhir/metadata`,
 * `/fhir/.well-known/smart-configuration`) name their path in `resource`, the route template
 * API Gateway matched — never client input. The base `/fhir` itself has neither: `/`.
 */
export function pathBelowFhirBase(event: Pick<APIGatewayProxyEvent, 'pathParameters' | 'resource'>): string {
  const proxy = event.pathParameters?.proxy;
  if (proxy !== undefined) return `/${proxy}`;
  const resource = event.resource ?? '';
  if (resource.startsWith('/fhir/') && !resource.includes('{')) return resource.slice('/fhir'.length);
  return '/';
}

/**
 * The public FHIR base: configured (custom domain) or `https://{domainName}/{stage}/fhir` as API
 * Gateway's default endpoint serves it.
 */
export function publicBaseFromEvent(event: APIGatewayProxyEvent, configured: string | undefined): string {
  if (configured) return configured.replace(/\/$/, '');
  const { domainName, stage } = event.requestContext;
  return `https://${domainName}/${stage}/fhir`;
}

/** A ProxyResponse as the API Gateway proxy integration result. */
export function toProxyResult(response: ProxyResponse, extraHeaders: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: response.status,
    headers: { 'cache-control': 'no-store', ...response.headers, ...extraHeaders },
    body: response.text ?? (response.body === undefined ? '' : JSON.stringify(response.body)),
  };
}
