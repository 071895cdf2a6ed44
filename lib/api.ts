/**
 * The public face of fhirgate: one API Gateway REST API.
 *
 * | route | method | auth | target |
 * |---|---|---|---|
 * | `/fhir`, `/fhir/{proxy+}` | ANY | TOKEN authorizer | FHIR proxy (PEP) |
 * | `/fhir/metadata`, `/fhir/.well-known/smart-configuration` | GET | none (discovery is public) | FHIR proxy |
 * | each `/fhir…` resource above, only when CORS origins are configured | OPTIONS | none (CORS preflight) | FHIR proxy |
 * | `/auth/token` | ANY (the service answers 405 but to POST) | none (the form carries both tokens, or a client assertion) | token service |
 * | `/auth/jwks.json` | GET | none (public keys) | token service |
 * | `/auth/.well-known/oauth-authorization-server` | GET | none (RFC 8414 metadata) | token service |
 * | `/auth/authorize`, `/auth/callback` | GET | none (a browser signing in has no token yet) | token service (SMART App Launch only) |
 * | `/auth/picker` | POST | none (the sign-in session cookie) | token service (SMART App Launch only) |
 * | `/auth/.well-known/openid-configuration` | GET | none (OpenID Connect discovery) | token service (SMART App Launch only) |
 *
 * Every error API Gateway itself answers (401, 403, throttling, a crashed integration) is a FHIR
 * OperationOutcome like the proxy's own. Access logs are JSON without paths or query strings;
 * execution logs are ERROR-level, never carry bodies (no data trace) and go to a log group created
 * here (encrypted, with retention); the stage is not traced (X-Ray would record URLs), the
 * functions are. The public routes have their own, lower throttles.
 *
 * CORS (`corsAllowedOrigins`): a browser's preflight `OPTIONS` carries no token (Fetch standard,
 * CORS-preflight request), so it reaches the proxy without the authorizer; the proxy answers it
 * itself, per origin, without calling the backend. API Gateway's built-in CORS (a MOCK integration)
 * could only return one static origin. API Gateway's own errors (401, 403, 4XX, 5XX) get
 * `Access-Control-Allow-Origin` only when exactly ONE origin is configured: a gateway response
 * header is static, it cannot choose among several origins, and echoing the request's `Origin`
 * would allow every origin. With several origins a browser app sees those errors as network
 * errors (it cannot read their status or OperationOutcome); everything the proxy answers still
 * carries the right CORS headers.
 *
 * The API is created first so that the functions can be given its URLs (the token exchange's
 * issuer, the FHIR base as token audience); routes are added with `addFhirRoutes` and
 * `addTokenRoutes`. The URLs are built from the REST API id and the stage NAME, not from the
 * Stage resource: the stage depends on the methods, which depend on the functions. With a custom
 * domain they are built from its name (lib/custom-domain.ts).
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FHIRGATE_ERROR_SYSTEM } from '../functions/core/operation-outcome';
import { validateOrigins } from '../functions/common/cors';
import { GATEWAY_CHALLENGES } from '../functions/common/www-authenticate';
import { CustomDomainOptions, DEFAULT_SECURITY_POLICY, FhirgateDomain } from './custom-domain';
import { DEFAULT_LOG_RETENTION } from './log-encryption';
import { FhirgateWaf, WafRateLimits } from './waf';

/**
 * Bearer token shape the TOKEN authorizer accepts before it is even invoked (RFC 6750 §2.1
 * b64token). The scheme is case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1), so `bearer` and
 * `BEARER` pass like `Bearer`; spelled as character classes, which every regex dialect reads alike.
 */
export const BEARER_TOKEN_PATTERN = '^[Bb][Ee][Aa][Rr][Ee][Rr] [-A-Za-z0-9._~+/]+=*$';

/**
 * Throttles of the routes anyone may call without a token, each its own token bucket, below the
 * stage's (which FHIR traffic uses): a flood of discovery or token requests cannot use up the
 * stage's rate. The token endpoint signs with KMS (asymmetric Sign has a per-account request
 * quota), discovery and the JWKS are small static documents.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 */
export const DEFAULT_PUBLIC_ROUTE_THROTTLE: Readonly<Record<PublicRoute, Throttle>> = {
  '/fhir/metadata/GET': { rateLimit: 10, burstLimit: 20 },
  '/fhir/.well-known/smart-configuration/GET': { rateLimit: 10, burstLimit: 20 },
  '/auth/token/POST': { rateLimit: 50, burstLimit: 100 },
  '/auth/jwks.json/GET': { rateLimit: 10, burstLimit: 20 },
  // SMART App Launch: one authorize, one callback and at most one picker POST per sign-in.
  '/auth/authorize/GET': { rateLimit: 10, burstLimit: 20 },
  '/auth/callback/GET': { rateLimit: 10, burstLimit: 20 },
  '/auth/picker/POST': { rateLimit: 10, burstLimit: 20 },
};

/** The public routes that exist only with SMART App Launch (their throttles apply only then). */
export const APP_LAUNCH_ROUTES = ['/auth/authorize/GET', '/auth/callback/GET', '/auth/picker/POST'] as const;

export type PublicRoute = '/fhir/metadata/GET' | '/fhir/.well-known/smart-configuration/GET' | '/auth/token/POST' | '/auth/jwks.json/GET' | (typeof APP_LAUNCH_ROUTES)[number];

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface FhirgateApiProps {
  /** @default 'prod' */
  readonly stageName?: string;
  /** Seconds API Gateway caches the authorizer's answer per token (0 = no cache). */
  readonly authorizerCacheTtlSeconds: number;
  readonly logKey: kms.IKey;
  /** @default DEFAULT_LOG_RETENTION (six years) */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Stage-wide throttling (token bucket): steady requests per second and burst.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: Throttle;
  /**
   * Throttles of the public routes (discovery, token endpoint, JWKS), each below the stage's.
   * @default DEFAULT_PUBLIC_ROUTE_THROTTLE
   */
  readonly publicRouteThrottle?: Partial<Record<PublicRoute, Throttle>>;
  /**
   * Put AWS WAF (managed rules, per-caller and per-IP rate limits) in front of the stage.
   * @default true
   */
  readonly waf?: boolean;
  /** WAF rate limits. @default DEFAULT_WAF_RATE_LIMITS */
  readonly wafRateLimits?: WafRateLimits;
  /**
   * Browser origins allowed by CORS (exact, never `*`): adds unauthenticated `OPTIONS` preflight
   * routes to the proxy, and, with exactly one origin, CORS headers on API Gateway's own errors.
   * @default [] (no browser access: no OPTIONS routes)
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * TLS security policy of the API and of its custom domain (an enhanced, regional policy).
   * @default DEFAULT_SECURITY_POLICY (TLS 1.3, or TLS 1.2 with forward secrecy)
   */
  readonly securityPolicy?: apigw.SecurityPolicy;
  /**
   * Serve the API on this domain: every public URL (FHIR base, token issuer and endpoint, JWKS)
   * is then on it, and the execute-api endpoint is off unless `disableExecuteApiEndpoint: false`.
   * @default - none: the execute-api endpoint and its URLs
   */
  readonly customDomain?: CustomDomainOptions;
  /**
   * SMART App Launch's browser routes (authorize, callback, picker, OpenID discovery) with their
   * throttles, added by `addTokenRoutes`, and a WAF that lets the authorize request through.
   * @default false
   */
  readonly appLaunch?: boolean;
}

export class FhirgateApi extends Construct {
  readonly restApi: apigw.RestApi;
  readonly stageName: string;
  /** `https://{api}.execute-api.{region}.amazonaws.com/{stage}`, or `https://{customDomain}` */
  readonly baseUrl: string;
  /** The custom domain, when one is configured. */
  readonly customDomain?: FhirgateDomain;
  /** The public FHIR base URL (also the audience of exchanged tokens). */
  readonly fhirBaseUrl: string;
  readonly smartConfigurationUrl: string;
  /** fhirgate's token endpoint: RFC 8693 exchange and SMART Backend Services client assertions (their `aud`). */
  readonly tokenExchangeUrl: string;
  /** `iss` of exchanged tokens. */
  readonly tokenExchangeIssuer: string;
  readonly jwksUrl: string;
  readonly accessLogGroup: logs.LogGroup;
  /** The log group API Gateway writes ERROR execution logs to, created here with the key and retention. */
  readonly executionLogGroup: logs.LogGroup;
  readonly waf?: FhirgateWaf;
  /** The CORS allow-list (validated). */
  readonly corsAllowedOrigins: readonly string[];
  private readonly authorizerCacheTtl: Duration;
  private readonly appLaunch: boolean;

  constructor(scope: Construct, id: string, props: FhirgateApiProps) {
    super(scope, id);
    this.corsAllowedOrigins = validateOrigins(props.corsAllowedOrigins ?? []);
    const stack = Stack.of(this);
    this.stageName = props.stageName ?? 'prod';
    this.authorizerCacheTtl = Duration.seconds(props.authorizerCacheTtlSeconds);
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
      encryptionKey: props.logKey,
    });
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    // Each method setting is its own entry: it repeats the stage's logging settings.
    const logging = { loggingLevel: apigw.MethodLoggingLevel.ERROR, dataTraceEnabled: false, metricsEnabled: true };
    this.appLaunch = props.appLaunch ?? false;
    const publicThrottles = { ...DEFAULT_PUBLIC_ROUTE_THROTTLE, ...props.publicRouteThrottle };
    const methodOptions = Object.fromEntries(
      Object.entries(publicThrottles)
        .filter(([route]) => this.appLaunch || !(APP_LAUNCH_ROUTES as readonly string[]).includes(route)) // a setting names an existing method
        .map(([route, t]) => [route, { ...logging, throttlingRateLimit: t.rateLimit, throttlingBurstLimit: t.burstLimit }]),
    );

    this.restApi = new apigw.RestApi(this, 'RestApi', {
      description: 'fhirgate: patient-scoped FHIR API',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // One public host when a custom domain is set (see lib/custom-domain.ts).
      disableExecuteApiEndpoint: props.customDomain ? (props.customDomain.disableExecuteApiEndpoint ?? true) : undefined,
      // Execution logging needs the account-level API Gateway → CloudWatch role; kept on delete
      // because other APIs in the account rely on the same account setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: this.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        ...logging, // ERROR only; never request or response bodies (PHI): no data trace
        // No X-Ray at the stage: its segments record the request URL — FHIR ids and search
        // values — and traces are kept outside the stack's keys and retention. The functions
        // trace themselves, with no URL in their segments.
        tracingEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        methodOptions,
        cachingEnabled: false,
      },
    });
    // API Gateway creates "API-Gateway-Execution-Logs_{restApiId}/{stageName}" itself on the
    // first logged error — unencrypted, kept forever. Created here first, with the key and the
    // retention, it is the group API Gateway writes to.
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.restApi.restApiId}/${this.stageName}`,
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
      encryptionKey: props.logKey,
    });
    this.restApi.deploymentStage.node.addDependency(this.executionLogGroup);

    // The default endpoint gets the enhanced TLS policy too: left alone, a regional API accepts
    // TLS 1.0 there (lib/custom-domain.ts). The RestApi construct has no prop for it yet.
    const securityPolicy = props.securityPolicy ?? DEFAULT_SECURITY_POLICY;
    const cfnApi = this.restApi.node.defaultChild as apigw.CfnRestApi;
    cfnApi.securityPolicy = securityPolicy;
    cfnApi.endpointAccessMode = apigw.EndpointAccessMode.STRICT;

    if (props.customDomain) {
      this.customDomain = new FhirgateDomain(this, 'CustomDomain', { ...props.customDomain, restApi: this.restApi, securityPolicy });
      this.baseUrl = this.customDomain.origin; // its root is the stage
      // RestApi's own "Endpoint" output would name the execute-api URL, which answers 403 when off.
      if (props.customDomain.disableExecuteApiEndpoint ?? true) this.restApi.node.tryRemoveChild('Endpoint');
    } else {
      this.baseUrl = `https://${this.restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.stageName}`;
    }
    this.fhirBaseUrl = `${this.baseUrl}/fhir`;
    this.smartConfigurationUrl = `${this.fhirBaseUrl}/.well-known/smart-configuration`;
    this.tokenExchangeIssuer = `${this.baseUrl}/auth`;
    this.tokenExchangeUrl = `${this.baseUrl}/auth/token`;
    this.jwksUrl = `${this.baseUrl}/auth/jwks.json`;

    this.addGatewayResponses();

    if (props.waf ?? true) {
      this.waf = new FhirgateWaf(this, 'Waf', {
        stageArn: this.restApi.deploymentStage.stageArn,
        rateLimits: props.wafRateLimits,
        logKey: props.logKey,
        logRetention: props.logRetention,
        appLaunch: this.appLaunch,
      });
    } else {
      Validations.of(this.restApi).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'The operator turned AWS WAF off for the fhirgate API stage (-c waf=false); the stage and public-route throttles and the token authorizer still stand before every FHIR request',
      });
    }

    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: 'The fhirgate FHIR proxy validates every request itself (a FHIR parser that refuses anything it does not understand with a 400 OperationOutcome); API Gateway models cannot express FHIR resources, and the token shape is checked by the authorizer identity validation regex',
    });
    Validations.of(this.restApi.deploymentStage).acknowledge(
      {
        id: 'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
        reason: 'Response caching is off on purpose on the fhirgate API stage: every FHIR response is specific to the caller and holds PHI, so no response may be served from a cache to anyone',
      },
      {
        id: 'HIPAA.Security-APIGWXrayEnabled',
        reason: 'X-Ray is off at the fhirgate API stage on purpose: stage segments record the request URL, and FHIR URLs carry resource ids and search values (PHI) into traces kept outside the stack keys and retention; the Lambda functions behind every route are traced (TracingConfig Active) without URLs, and access logs record the route template',
      },
      {
        id: 'HIPAA.Security-APIGWSSLEnabled',
        reason: 'A stage client certificate authenticates API Gateway to HTTP backends; every fhirgate API integration is a Lambda proxy invoked through IAM, so there is no HTTP backend to present it to',
      },
    );
    const cloudWatchRole = this.restApi.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role uses AmazonAPIGatewayPushToCloudWatchLogs, the AWS managed policy API Gateway documents for writing the fhirgate API execution and access logs',
      });
    }
  }

  /** `GET …/auth/authorize`: the SMART App Launch authorization endpoint (beside the token endpoint, under the issuer). */
  get authorizeUrl(): string {
    return `${this.tokenExchangeIssuer}/authorize`;
  }

  /** `GET …/auth/callback`: where Cognito managed login returns a sign-in (the broker client's only callback URL). */
  get signInCallbackUrl(): string {
    return `${this.tokenExchangeIssuer}/callback`;
  }

  /**
   * `/fhir` and `/fhir/{proxy+}` (ANY) behind the TOKEN authorizer, and the two public discovery
   * routes, all to the proxy function.
   */
  addFhirRoutes(proxy: lambda.IFunction, authorizerFunction: lambda.IFunction): apigw.TokenAuthorizer {
    const authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: authorizerFunction,
      authorizerName: 'fhirgate-token',
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_TOKEN_PATTERN,
      // Cached per token for every method and path of the API. That is safe only because the
      // authorizer's policy never depends on the path or method (it allows the whole FHIR route
      // tree of the stage); per-resource decisions are the proxy's, made on every request.
      resultsCacheTtl: this.authorizerCacheTtl,
    });
    const integration = new apigw.LambdaIntegration(proxy, { allowTestInvoke: false });
    const protectedOptions: apigw.MethodOptions = { authorizer, authorizationType: apigw.AuthorizationType.CUSTOM };
    const publicOptions: apigw.MethodOptions = { authorizationType: apigw.AuthorizationType.NONE };

    const fhir = this.restApi.root.addResource('fhir');
    // The base itself: batch/transaction Bundles, system-level search (`GET /fhir?_type=…`).
    fhir.addMethod('ANY', integration, protectedOptions);
    fhir.addResource('{proxy+}').addMethod('ANY', integration, protectedOptions);
    const metadata = fhir.addResource('metadata');
    const smartConfiguration = fhir.addResource('.well-known').addResource('smart-configuration');
    const discovery = [metadata.addMethod('GET', integration, publicOptions), smartConfiguration.addMethod('GET', integration, publicOptions)];
    for (const method of discovery) {
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason: 'FHIR discovery (CapabilityStatement at /fhir/metadata, SMART configuration at /fhir/.well-known/smart-configuration) must be readable without a token: clients learn from it where to get one',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: 'FHIR discovery (metadata, SMART configuration) is public by specification, so no Cognito or other authorizer stands in front of it; it returns no patient data',
        },
      );
    }
    for (const resource of [fhir, fhir.getResource('{proxy+}')!]) {
      Validations.of(resource).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: 'FHIR routes use the fhirgate Lambda TOKEN authorizer, which verifies the Cognito tokens (signature, issuer, client, token_use) and also classifies the principal and resolves its patient links, which a Cognito user pool authorizer cannot do',
      });
    }
    if (this.corsAllowedOrigins.length > 0) this.addPreflightRoutes([fhir, fhir.getResource('{proxy+}')!, metadata, smartConfiguration], integration);
    return authorizer;
  }

  /**
   * `OPTIONS` on every FHIR resource, without the authorizer, to the proxy: it answers the
   * preflight itself (204, CORS headers for an allowed origin only) and never calls the backend.
   * An explicit OPTIONS method takes precedence over ANY on the same resource.
   */
  private addPreflightRoutes(resources: readonly apigw.IResource[], integration: apigw.Integration): void {
    for (const resource of resources) {
      const method = resource.addMethod('OPTIONS', integration, { authorizationType: apigw.AuthorizationType.NONE });
      // AwsSolutions-COG4 (Cognito authorizer) does not apply to OPTIONS methods; APIG4 does.
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'CORS preflight OPTIONS on the FHIR routes: browsers send preflights without credentials or a token (Fetch standard, CORS-preflight request), and the fhirgate FHIR proxy answers them itself with CORS headers only and no data, never reaching the FHIR backend',
      });
    }
  }

  /**
   * `POST /auth/token`, `GET /auth/jwks.json` and the RFC 8414 metadata under the issuer
   * (`GET /auth/.well-known/oauth-authorization-server`) to the token service, without an
   * authorizer. The RFC 8414 §3.1 location (`/.well-known/oauth-authorization-server/<stage>/auth`
   * at the host root) is outside the stage, so API Gateway cannot route it.
   */
  addTokenRoutes(tokenService: lambda.IFunction): void {
    const integration = new apigw.LambdaIntegration(tokenService, { allowTestInvoke: false });
    const auth = this.restApi.root.addResource('auth');
    const wellKnown = auth.addResource('.well-known');
    const methods = [
      // ANY, so a wrong method reaches the token service and gets its RFC 6749 JSON 405 with `Allow: POST`.
      auth.addResource('token').addMethod('ANY', integration, { authorizationType: apigw.AuthorizationType.NONE }),
      auth.addResource('jwks.json').addMethod('GET', integration, { authorizationType: apigw.AuthorizationType.NONE }),
      wellKnown.addResource('oauth-authorization-server').addMethod('GET', integration, { authorizationType: apigw.AuthorizationType.NONE }),
    ];
    for (const method of methods) {
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason: 'The fhirgate token endpoint authenticates its callers from the form itself (RFC 8693: the actor and subject tokens are both verified Cognito tokens; SMART Backend Services: a private_key_jwt client assertion verified against the registered client keys), and the JWKS of exchanged tokens is public by design',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: 'The fhirgate token exchange verifies the credentials in the request body itself (both Cognito tokens, RFC 8693 §2.1, or a client assertion, RFC 7523), which a Cognito authorizer reading one header cannot; the JWKS route serves public keys only',
        },
      );
    }
    if (this.appLaunch) this.addAppLaunchRoutes(auth, wellKnown, integration);
  }

  /**
   * SMART App Launch's browser routes, exactly the methods the token service answers
   * (functions/token-exchange/authorize.ts): the authorize request and Cognito's return are GETs
   * (redirects), the patient choice is a form POST, and OpenID discovery (id_tokens are issued).
   */
  private addAppLaunchRoutes(auth: apigw.IResource, wellKnown: apigw.IResource, integration: apigw.Integration): void {
    const none = { authorizationType: apigw.AuthorizationType.NONE };
    const methods = [
      auth.addResource('authorize').addMethod('GET', integration, none),
      auth.addResource('callback').addMethod('GET', integration, none),
      auth.addResource('picker').addMethod('POST', integration, none),
      wellKnown.addResource('openid-configuration').addMethod('GET', integration, none),
    ];
    for (const method of methods) {
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason: 'SMART App Launch sign-in routes of the fhirgate token exchange: a browser arrives here to get its first token, so none can be required; the token service checks the registered client, the exact redirect_uri, PKCE S256 and the sign-in session cookie itself, and OpenID discovery is public by specification',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: 'SMART App Launch sign-in routes of the fhirgate token exchange: the user signs in at Cognito managed login between authorize and callback, and the callback redeems that code with the broker client secret; a Cognito authorizer would need the very token this flow produces',
        },
      );
    }
  }

  /** API Gateway's own errors as FHIR OperationOutcomes, like every error the proxy answers. */
  private addGatewayResponses(): void {
    const [onlyOrigin, ...others] = this.corsAllowedOrigins;
    // A static header: only safe with one origin (see the class comment), so a browser app can read the OperationOutcome.
    const cors: Record<string, string> = onlyOrigin !== undefined && others.length === 0 ? { 'Access-Control-Allow-Origin': `'${onlyOrigin}'`, Vary: "'Origin'" } : {};
    const headers = { 'Content-Type': "'application/fhir+json'", 'Cache-Control': "'no-store'", ...cors };
    const body = (code: string, text: string, coding?: string) =>
      JSON.stringify({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code, details: { text, ...(coding ? { coding: [{ system: FHIRGATE_ERROR_SYSTEM, code: coding }] } : {}) } }],
      }).replace(`"${ERROR_MESSAGE}"`, ERROR_MESSAGE); // messageString is already a quoted JSON string
    const respond = (id: string, type: apigw.ResponseType, statusCode: string | undefined, template: string, extraHeaders: Record<string, string> = {}) =>
      this.restApi.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: { ...headers, ...extraHeaders },
        templates: { 'application/json': template },
      });

    // No token, a malformed header, or the authorizer said "Unauthorized" (RFC 6750 §3).
    // The challenges are the ones the local gateway sends (functions/common/www-authenticate.ts).
    respond('Unauthorized', apigw.ResponseType.UNAUTHORIZED, '401', body('login', 'Unauthorized', 'ERR_TOKEN_INVALID'), {
      'WWW-Authenticate': `'${GATEWAY_CHALLENGES.unauthorized}'`,
    });
    // The authorizer's Deny policy: its context carries the reason (as the local gateway shows it).
    respond('AccessDenied', apigw.ResponseType.ACCESS_DENIED, '403', body('forbidden', '$context.authorizer.reason', 'ERR_FORBIDDEN'), {
      'WWW-Authenticate': `'${GATEWAY_CHALLENGES.accessDenied}'`,
    });
    // A route that does not exist (API Gateway says 403 "Missing Authentication Token").
    respond('NoSuchRoute', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', body('not-found', 'no such route', 'ERR_NOT_FOUND'));
    // Everything else API Gateway refuses (throttling, payload too large, …): its own message.
    respond('Default4xx', apigw.ResponseType.DEFAULT_4XX, undefined, body('processing', ERROR_MESSAGE));
    // The authorizer or the integration failed: fail closed, never a partial answer.
    respond('Default5xx', apigw.ResponseType.DEFAULT_5XX, undefined, body('transient', ERROR_MESSAGE, 'ERR_DEPENDENCY_FAILED'));
  }
}

/** API Gateway's error message as a JSON string literal (quotes and escaping included). */
const ERROR_MESSAGE = '$context.error.messageString';

/**
 * Access log record: who (principal id = Cognito sub or client id), what route (the resource
 * template, not the path, so no patient ids or search values), outcome and timings, and the TLS
 * version and cipher suite the client negotiated (`$context.tlsVersion`, `$context.cipherSuite`:
 * the variables API Gateway documents for monitoring the TLS of REST API clients,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html).
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  principalId: '$context.authorizer.principalId',
  authorizerStatus: '$context.authorizer.status',
  authorizerLatency: '$context.authorizer.latency',
  errorType: '$context.error.responseType',
  wafStatus: '$context.waf.status',
  xrayTraceId: '$context.xrayTraceId',
  tlsVersion: '$context.tlsVersion',
  cipherSuite: '$context.cipherSuite',
};
