/**
 * API Gateway (REST) emulation for the local stack and the integration tests: the real
 * authorizer and proxy handlers, fed the event shapes API Gateway builds, with its authorizer
 * semantics — identity source `Authorization`, results cached per token for a TTL and reused for
 * every path, `Unauthorized` → 401, a Deny → 403, any other authorizer failure → 500.
 */
import { randomUUID } from 'node:crypto';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import { outcome } from '../../functions/core/operation-outcome';
import { CorsConfig, corsHeaders } from '../../functions/common/cors';
import { bearerRefusalHeaders } from '../../functions/common/www-authenticate';
import { evaluatePolicy } from './iam-policy';

export interface GatewayRequest {
  readonly method: string;
  /** Path below the stage, e.g. `/fhir/Patient/pat-alice`. */
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body?: string;
}

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface GatewayOptions {
  readonly authorizer: (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
  readonly proxy: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /**
   * Further Lambda proxy integrations without the authorizer, by exact method (or `ANY`) and path
   * (the token service: `ANY /auth/token`, `GET /auth/jwks.json`, its metadata).
   */
  readonly publicIntegrations?: readonly { method: string; path: string; handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> }[];
  /** Authorizer result cache TTL; 0 disables caching. @default 300 */
  readonly authorizerCacheTtlSeconds?: number;
  readonly region?: string;
  readonly accountId?: string;
  readonly apiId?: string;
  readonly stage?: string;
  /** Host name put in requestContext.domainName (the proxy derives its public base from it). */
  readonly domainName: string;
  readonly now?: () => number;
  /**
   * Origins allowed by CORS. API Gateway adds these headers to its own error responses (401/403
   * from the authorizer) through gateway responses; the proxy Lambda adds them to its answers.
   */
  readonly cors?: CorsConfig;
  /**
   * How long an integration (a Lambda) may take before the gateway answers 504 itself, as API
   * Gateway does past its integration timeout (50 ms – 29 s for REST APIs:
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
   * @default 29000
   */
  readonly integrationTimeoutMs?: number;
}

/** API Gateway's default (and, without a quota increase, maximum) REST integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/** Routes that API Gateway serves without the authorizer (the public discovery documents). */
const PUBLIC_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'GET', path: '/fhir/metadata' },
  { method: 'GET', path: '/fhir/.well-known/smart-configuration' },
];

export class GatewayEmulator {
  private readonly cache = new Map<string, { result: APIGatewayAuthorizerResult; expires: number }>();
  readonly authorizerCalls: string[] = [];

  constructor(private readonly options: GatewayOptions) {}

  /** Handle one request the way API Gateway would for the `/fhir/{proxy+}` resource. */
  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const response = await this.route(req);
    if (response.headers['access-control-allow-origin'] !== undefined || req.method === 'OPTIONS') return response;
    return { ...response, headers: { ...response.headers, ...corsHeaders(header(req.headers, 'origin'), this.options.cors) } };
  }

  private async route(req: GatewayRequest): Promise<GatewayResponse> {
    const { stage = 'local' } = this.options;
    const onPath = this.options.publicIntegrations?.filter((r) => r.path === req.path) ?? [];
    const integration = onPath.find((r) => r.method === req.method || r.method === 'ANY');
    if (onPath.length > 0) {
      if (!integration) {
        const allow = onPath.map((r) => r.method).join(', ');
        return gatewayError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`, { allow });
      }
      const event = this.proxyEvent(req, undefined, stage, undefined, undefined, req.path);
      return this.integrate(() => integration.handler(event));
    }
    // Routes: ANY /fhir (the base: batch/transaction, system search) and ANY /fhir/{proxy+}.
    if (req.path !== '/fhir' && !req.path.startsWith('/fhir/')) return gatewayError(404, 'ERR_NOT_FOUND', 'no such route');
    const proxyPath = req.path === '/fhir' ? undefined : req.path.slice('/fhir/'.length);
    const methodArn = this.methodArn(req.method, req.path);
    // Preflights carry no token: OPTIONS goes to the proxy without the authorizer, as in the CDK API.
    const isPublic = req.method === 'OPTIONS' || PUBLIC_ROUTES.some((r) => r.method === req.method && r.path === req.path);
    let context: Record<string, unknown> | undefined;
    let principalId: string | undefined;
    if (!isPublic) {
      const authorization = header(req.headers, 'authorization');
      // API Gateway answers 401 itself when the identity source is missing; the authorizer is not called.
      if (!authorization) return gatewayError(401, 'ERR_TOKEN_MISSING', 'Unauthorized', bearerRefusalHeaders('missing'));
      const decided = await this.authorize(authorization, methodArn);
      if ('error' in decided) return decided.error;
      context = decided.result.context as Record<string, unknown> | undefined;
      principalId = decided.result.principalId;
    }
    // Explicit public routes arrive as their own resource with no proxy parameter, as in AWS.
    const route = isPublic && req.method !== 'OPTIONS' ? req.path : proxyPath === undefined ? '/fhir' : '/fhir/{proxy+}';
    const event = this.proxyEvent(req, route === '/fhir/{proxy+}' ? proxyPath : undefined, stage, context, principalId, route);
    return this.integrate(() => this.options.proxy(event));
  }

  /** Call an integration within the integration timeout; past it the caller gets API Gateway's 504. */
  private async integrate(call: () => Promise<APIGatewayProxyResult>): Promise<GatewayResponse> {
    const limitMs = this.options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), limitMs);
    });
    try {
      const result = await Promise.race([call(), timedOut]);
      if (!result) return gatewayError(504, 'ERR_DEPENDENCY_TIMEOUT', 'Endpoint request timed out');
      return { status: result.statusCode, headers: stringHeaders(result.headers), body: result.body };
    } finally {
      clearTimeout(timer);
    }
  }

  private async authorize(token: string, methodArn: string): Promise<{ result: APIGatewayAuthorizerResult } | { error: GatewayResponse }> {
    const now = (this.options.now ?? Date.now)();
    const ttl = (this.options.authorizerCacheTtlSeconds ?? 300) * 1000;
    let result = this.cache.get(token);
    if (!result || result.expires <= now) {
      this.authorizerCalls.push(methodArn);
      try {
        const fresh = await this.options.authorizer({ type: 'TOKEN', authorizationToken: token, methodArn });
        result = { result: fresh, expires: now + ttl };
        if (ttl > 0) this.cache.set(token, result);
      } catch (err) {
        if (err instanceof Error && err.message === 'Unauthorized') return { error: gatewayError(401, 'ERR_TOKEN_INVALID', 'Unauthorized', bearerRefusalHeaders('invalid_token')) };
        return { error: gatewayError(500, 'ERR_DEPENDENCY_FAILED', 'authorizer failed') };
      }
    }
    if (evaluatePolicy(result.result, methodArn) === 'Deny') {
      const reason = (result.result.context as Record<string, unknown> | undefined)?.reason;
      const text = typeof reason === 'string' ? reason : 'User is not authorized to access this resource';
      return { error: gatewayError(403, 'ERR_FORBIDDEN', text, bearerRefusalHeaders('insufficient_scope')) };
    }
    return { result: result.result };
  }

  private methodArn(method: string, path: string): string {
    const { region = 'us-east-1', accountId = '000000000000', apiId = 'local', stage = 'local' } = this.options;
    return `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/${method}${path}`;
  }

  private proxyEvent(
    req: GatewayRequest,
    proxyPath: string | undefined,
    stage: string,
    authorizer: Record<string, unknown> | undefined,
    principalId: string | undefined,
    resource = '/fhir/{proxy+}',
  ): APIGatewayProxyEvent {
    const multiValueHeaders: Record<string, string[]> = {};
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      const values = Array.isArray(value) ? value : [value];
      multiValueHeaders[name] = values;
      headers[name] = values[values.length - 1]!;
    }
    const multiValueQuery: Record<string, string[]> = {};
    for (const [k, v] of req.query) (multiValueQuery[k] ??= []).push(v);
    const singleQuery = Object.fromEntries(Object.entries(multiValueQuery).map(([k, v]) => [k, v[v.length - 1]!]));
    const hasQuery = req.query.length > 0;
    return {
      resource,
      path: req.path,
      httpMethod: req.method,
      headers,
      multiValueHeaders,
      queryStringParameters: hasQuery ? singleQuery : null,
      multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
      pathParameters: proxyPath === undefined ? null : { proxy: proxyPath },
      stageVariables: null,
      body: req.body ?? null,
      isBase64Encoded: false,
      requestContext: {
        accountId: this.options.accountId ?? '000000000000',
        apiId: this.options.apiId ?? 'local',
        authorizer: authorizer ? { ...authorizer, principalId } : undefined,
        domainName: this.options.domainName,
        httpMethod: req.method,
        path: `/${stage}${req.path}`,
        protocol: 'HTTP/1.1',
        requestId: randomUUID(),
        requestTimeEpoch: Date.now(),
        resourceId: 'fhirproxy',
        resourcePath: resource,
        stage,
        identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      },
    } as APIGatewayProxyEvent;
  }
}

function header(headers: GatewayRequest['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

function stringHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

/**
 * Gateway-generated errors, shaped like fhirgate's gateway responses in the CDK stack (the same
 * challenges, from functions/common/www-authenticate.ts). Unlike API Gateway, the emulation can
 * tell a missing token from a refused one, and says so as RFC 6750 §3.1 asks.
 */
function gatewayError(status: number, code: Parameters<typeof outcome>[0], text: string, extra: Record<string, string> = {}): GatewayResponse {
  return { status, headers: { 'content-type': 'application/fhir+json', 'cache-control': 'no-store', ...extra }, body: JSON.stringify(outcome(code, text)) };
}
