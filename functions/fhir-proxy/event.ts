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

/** The FHIR request below the base. The route is `/fhir/{proxy+}`, so the proxy path parameter is it. */
export function httpRequestFromEvent(event: APIGatewayProxyEvent): HttpRequest {
  const headers: Record<string, string> = {};
  let headerBytes = 0;
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const list = values ?? [];
    const key = name.toLowerCase();
    headerBytes += key.length + list.join('').length;
    // Two values for a header fhirgate reads would let a client pick which one a check sees.
    if (list.length > 1 && ['content-type', 'if-match', 'if-none-exist'].includes(key)) {
      throw new RequestError('ERR_BAD_REQUEST', `header ${key} sent more than once`);
    }
    if (list.length > 0) headers[key] = list.join(', ');
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    const key = name.toLowerCase();
    if (headers[key] === undefined && value !== undefined) {
      headers[key] = value;
      headerBytes += key.length + value.length;
    }
  }
  if (headerBytes > MAX_HEADER_BYTES) throw new RequestError('ERR_BAD_REQUEST', 'request headers too large', {}, 431);
  const query: [string, string][] = [];
  for (const [key, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const value of values ?? []) query.push([key, value]);
  }
  if (!event.multiValueQueryStringParameters) {
    for (const [key, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query.push([key, value]);
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
