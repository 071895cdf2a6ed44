/**
 * The fhirgate stack: wires one construct per runtime piece.
 *
 *   identity (Cognito) ───┐
 *   links table ──────────┼─▶ authorizer λ ─┐
 *   FHIR backend ─────────┼─▶ FHIR proxy λ ─┼─▶ API Gateway (+ WAF, optional custom domain)
 *   backend client tables ┴─▶ token service λ┘
 *   export bucket (HealthLake) ─▶ FHIR proxy λ (Bulk Data $export)
 *   SMART App Launch: broker client (Cognito) + app tables + broker secret ─▶ token service λ
 *
 * Props are validated before anything is created; a mistake is a TypeError that names the prop.
 */
import { CfnOutput, Stack, StackProps, Token } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { checkAppClient, GRANTABLE_SMART_SCOPES } from '../functions/core/app-launch';
import { parseScope } from '../functions/core/scopes';
import { AlarmThresholds, FhirgateAlarms } from './alarms';
import { AuditTrail, AuditTrailOptions } from './audit-trail';
import { APP_LAUNCH_ROUTES, FhirgateApi, PublicRoute, Throttle } from './api';
import { AppLaunch, AppLaunchOptions, checkAppLaunchPolicy } from './app-launch';
import { FhirgateAuthorizer, TrustConfig } from './authorizer';
import { BackendClientTables } from './client-tables';
import { CustomDomainOptions, REGIONAL_SECURITY_POLICIES } from './custom-domain';
import { FhirBackend } from './fhir-backend';
import { ExportBucket } from './export-bucket';
import { FhirProxy } from './fhir-proxy';
import { DELEGATION_SCOPE, FhirgateIdentity, FhirgateIdentityProps, MachineClient } from './identity';
import { LinksTable } from './links-table';
import { LogEncryptionKey } from './log-encryption';
import { FhirgateSettings, ResolvedSettings, resolveSettings } from './settings';
import { TokenService } from './token-service';
import type { WafRateLimits } from './waf';

export interface FhirgateStackProps extends StackProps {
  /**
   * What the stack and the local stack share: scopes, caches, token lifetime, backend, CORS
   * origins, backend (private_key_jwt) client allow-list.
   * @default {} (every FhirgateSettings default)
   */
  readonly settings?: FhirgateSettings;
  /**
   * Cognito options (MFA, sign-up, feature plan, domain, callback URLs, machine clients).
   * @default {} (see FhirgateIdentityProps)
   */
  readonly identity?: Omit<FhirgateIdentityProps, 'authz' | 'removalPolicy'>;
  /**
   * AWS WAF in front of the API stage (managed rules, per-caller and per-IP rate limits).
   * @default true
   */
  readonly waf?: boolean;
  /** WAF rate limits per 5 minutes. @default DEFAULT_WAF_RATE_LIMITS (per caller 3000, per IP 30000) */
  readonly wafRateLimits?: WafRateLimits;
  /** Stage throttling (FHIR traffic). @default { rateLimit: 100, burstLimit: 200 } */
  readonly throttle?: Throttle;
  /** Throttles of the public routes (discovery, token endpoint, JWKS). @default DEFAULT_PUBLIC_ROUTE_THROTTLE */
  readonly publicRouteThrottle?: Partial<Record<PublicRoute, Throttle>>;
  /** API Gateway stage name. @default 'prod' */
  readonly stageName?: string;
  /** Retention of every log group (Lambda, API access and execution logs, WAF). @default DEFAULT_LOG_RETENTION (six years) */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency per function.
   * @default {} (none: the functions share the account pool, bounded by stage throttling)
   */
  readonly reservedConcurrency?: { readonly authorizer?: number; readonly proxy?: number; readonly tokenService?: number };
  /** Ship source maps with the bundles (readable stack traces, bigger bundles). @default false */
  readonly sourceMaps?: boolean;
  /** Previous token-signing key ARNs still published in the JWKS during a rotation. @default [] */
  readonly retiringSigningKeyArns?: readonly string[];
  /**
   * Days Bulk Data `$export` files stay in the export bucket (and their status URLs answer).
   * Only with a HealthLake backend.
   * @default 1
   */
  readonly exportExpirationDays?: number;
  /** Alarm thresholds per 5 minutes (lib/alarms.ts). @default DEFAULT_ALARM_THRESHOLDS */
  readonly alarmThresholds?: AlarmThresholds;
  /**
   * Serve the API on a custom domain (lib/custom-domain.ts): every public URL the stack computes
   * and the proxy writes is then on it.
   * @default - none: the execute-api endpoint
   */
  readonly customDomain?: CustomDomainOptions;
  /**
   * TLS security policy of the API and its custom domain: one of REGIONAL_SECURITY_POLICIES.
   * @default DEFAULT_SECURITY_POLICY (SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09)
   */
  readonly tlsSecurityPolicy?: apigw.SecurityPolicy;
  /**
   * A CloudTrail trail with data events for the stack's DynamoDB tables and HealthLake data store,
   * and management events (KMS key use) — lib/audit-trail.ts. `{}` turns it on with its defaults.
   * @default - none (data events are billed per event)
   */
  readonly cloudTrail?: AuditTrailOptions;
  /**
   * SMART App Launch for browser apps (fhirgate as the authorization server, sign-in through
   * Cognito managed login): on by default; first-party apps, role scopes, lifetimes (lib/app-launch.ts).
   * @default { enabled: true } (no first-party app: register apps with `fhirgate apps register`)
   */
  readonly appLaunch?: AppLaunchOptions;
}

export class FhirgateStack extends Stack {
  readonly settings: ResolvedSettings;
  readonly identity: FhirgateIdentity;
  readonly links: LinksTable;
  /** Client registry and assertion replay store of SMART Backend Services (private_key_jwt) clients. */
  readonly backendClients: BackendClientTables;
  readonly backend: FhirBackend;
  readonly api: FhirgateApi;
  readonly authorizer: FhirgateAuthorizer;
  readonly proxy: FhirProxy;
  readonly tokenService: TokenService;
  /** Bulk Data `$export` bucket and HealthLake data-access role (HealthLake backend only). */
  readonly exportBucket?: ExportBucket;
  /** Operational alarms and the SNS topic they notify. */
  readonly alarms: FhirgateAlarms;
  /** The CloudTrail trail, when `cloudTrail` is set. */
  readonly auditTrail?: AuditTrail;
  /** SMART App Launch (app tables, broker secret, first-party apps), unless turned off. */
  readonly appLaunch?: AppLaunch;

  constructor(scope: Construct, id: string, props: FhirgateStackProps = {}) {
    const settings = validateStackProps(props); // before anything is created
    super(scope, id, props);
    this.settings = settings;
    const { authz } = settings;
    const common = { logRetention: props.logRetention, sourceMap: props.sourceMaps ?? false };
    const logKey = new LogEncryptionKey(this, 'LogKey').key;

    this.identity = new FhirgateIdentity(this, 'Identity', { authz, ...props.identity });
    this.links = new LinksTable(this, 'Links');
    this.backendClients = new BackendClientTables(this, 'BackendClients');
    this.backend = new FhirBackend(this, 'FhirBackend', { backend: settings.backend });
    this.api = new FhirgateApi(this, 'Api', {
      stageName: props.stageName,
      authorizerCacheTtlSeconds: settings.authorizerCacheTtlSeconds,
      logKey,
      logRetention: props.logRetention,
      throttle: props.throttle,
      publicRouteThrottle: props.publicRouteThrottle,
      waf: props.waf ?? true,
      wafRateLimits: props.wafRateLimits,
      corsAllowedOrigins: settings.corsAllowedOrigins,
      securityPolicy: props.tlsSecurityPolicy,
      customDomain: props.customDomain,
      appLaunch: props.appLaunch?.enabled ?? true,
    });
    if (props.appLaunch?.enabled ?? true) {
      // The broker's only callback is the API's /auth/callback; its secret goes to Secrets Manager.
      this.appLaunch = new AppLaunch(this, 'AppLaunch', {
        options: props.appLaunch ?? {},
        broker: this.identity.addBrokerClient(this.api.signInCallbackUrl),
        cognitoDomain: this.identity.baseUrl,
        logKey,
        logRetention: props.logRetention,
      });
    }

    // The broker client is in neither allow-list: its tokens are for the token service's sign-in check only.
    const trust: TrustConfig = {
      issuers: [
        { kind: 'cognito', userPoolId: this.identity.userPool.userPoolId },
        { kind: 'fhirgate-exchange', issuer: this.api.tokenExchangeIssuer, jwksUri: this.api.jwksUrl, audience: this.api.fhirBaseUrl },
      ],
      userClientIds: [this.identity.webClient.userPoolClientId],
      machineClientIds: this.identity.machineClients.map((c: cognito.UserPoolClient) => c.userPoolClientId),
      backendClientIds: settings.backendClientIds,
      links: this.links,
      linkCacheTtlSeconds: settings.linkCacheTtlSeconds,
      authz,
    };
    const concurrency = props.reservedConcurrency ?? {};
    this.authorizer = new FhirgateAuthorizer(this, 'Authorizer', { trust, logKey, ...common, reservedConcurrency: concurrency.authorizer });
    this.proxy = new FhirProxy(this, 'FhirProxy', {
      backend: this.backend,
      authz,
      discovery: {
        // The token service's own issuer, endpoint and keys (RFC 8414); /auth/token takes every
        // advertised grant, forwarding secret-based client_credentials to Cognito.
        issuer: this.api.tokenExchangeIssuer,
        tokenEndpoint: this.api.tokenExchangeUrl,
        jwksUri: this.api.jwksUrl,
        backendServices: true,
        clientSecrets: true,
        cognito: { issuer: this.identity.issuer, tokenEndpoint: `${this.identity.baseUrl}/oauth2/token` },
        // What a request may ask for: the pool's scopes, and with App Launch the SMART names its
        // authorization endpoint grants (OpenID sign-in with fhirUser, refresh tokens).
        scopesSupported: [...new Set([...this.identity.scopes, ...(this.appLaunch ? GRANTABLE_SMART_SCOPES : [])])],
        // SMART App Launch capabilities are advertised only when its routes are deployed.
        ...(this.appLaunch ? { appLaunch: { authorizationEndpoint: this.api.authorizeUrl } } : {}),
      },
      corsAllowedOrigins: settings.corsAllowedOrigins,
      // Behind a custom domain the request's host and stage are not the public base; say it.
      publicBaseUrl: this.api.customDomain ? this.api.fhirBaseUrl : undefined,
      logKey,
      ...common,
      reservedConcurrency: concurrency.proxy,
    });
    if (this.backend.datastore && this.backend.key) {
      this.exportBucket = new ExportBucket(this, 'Exports', { datastore: this.backend.datastore, key: this.backend.key, expirationDays: props.exportExpirationDays });
      for (const [name, value] of Object.entries(this.exportBucket.proxyEnvironment())) this.proxy.function.addEnvironment(name, value);
      this.exportBucket.grantTo(this.proxy.function);
    }
    this.tokenService = new TokenService(this, 'TokenService', {
      trust,
      issuer: this.api.tokenExchangeIssuer,
      audience: this.api.fhirBaseUrl,
      delegationScope: DELEGATION_SCOPE,
      lifetimeSeconds: settings.exchangedTokenLifetimeSeconds,
      retiringSigningKeyArns: props.retiringSigningKeyArns,
      // Assertions name the token endpoint as their `aud` (SMART Backend Services, RFC 7523 §3).
      backendClients: { tables: this.backendClients, tokenUrl: this.api.tokenExchangeUrl },
      // Secret-based client_credentials at /auth/token is forwarded here (Cognito holds the secrets).
      cognitoTokenUrl: `${this.identity.baseUrl}/oauth2/token`,
      appLaunch: this.appLaunch,
      // A SMART app in a browser calls the token endpoint too: the same allow-list as the FHIR API.
      corsAllowedOrigins: settings.corsAllowedOrigins,
      logKey,
      ...common,
      reservedConcurrency: concurrency.tokenService,
    });
    this.api.addFhirRoutes(this.proxy.function, this.authorizer.function);
    this.api.addTokenRoutes(this.tokenService.function);
    this.alarms = new FhirgateAlarms(this, 'Alarms', {
      restApiName: this.api.restApi.restApiName,
      stageName: this.api.stageName,
      accessLogGroup: this.api.accessLogGroup,
      proxyLogGroup: this.proxy.function.functionLogGroup,
      authorizer: this.authorizer.function,
      tokenService: this.tokenService.function,
      thresholds: props.alarmThresholds,
    });

    if (props.cloudTrail) this.auditTrail = new AuditTrail(this, 'AuditTrail', { ...props.cloudTrail, datastore: this.backend.datastore });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('FhirBaseUrl', this.api.fhirBaseUrl, 'Public FHIR base URL (behind the authorizer and the PEP)');
    output('SmartConfigurationUrl', this.api.smartConfigurationUrl, 'SMART App Launch discovery document');
    output('UserPoolId', this.identity.userPool.userPoolId, 'Cognito user pool');
    output('WebClientId', this.identity.webClient.userPoolClientId, 'Public client for frontends (authorization code + PKCE)');
    output('ApiServerClientId', this.identity.apiServerClient.userPoolClientId, 'Confidential client_credentials client of the API server');
    output('CognitoTokenUrl', `${this.identity.baseUrl}/oauth2/token`, 'Cognito OAuth 2.0 token endpoint');
    output('TokenExchangeUrl', this.api.tokenExchangeUrl, 'RFC 8693 token exchange endpoint');
    output('JwksUrl', this.api.jwksUrl, 'Public keys of exchanged tokens');
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic the operational alarms notify (subscribe operators to it)');
    output('LinksTableName', this.links.table.tableName, 'DynamoDB links table (user → patients)');
    output('ClientsTableName', this.backendClients.clients.tableName, 'DynamoDB registry of SMART Backend Services clients (private_key_jwt)');
    // The two caches that make up the revocation window (docs/revocation.md); the CLI reads them to state it.
    output('AuthorizerCacheTtlSeconds', String(settings.authorizerCacheTtlSeconds), 'Seconds API Gateway caches an authorizer answer per token');
    output('LinkCacheTtlSeconds', String(settings.linkCacheTtlSeconds), 'Seconds the authorizer and the token service cache a link record');
    if (this.appLaunch) {
      output('AuthorizeUrl', this.api.authorizeUrl, 'SMART App Launch authorization endpoint (apps find it in the SMART configuration)');
      output('AppsTableName', this.appLaunch.tables.apps.tableName, 'DynamoDB registry of SMART App Launch apps (fhirgate apps register|list|revoke)');
      output('BrokerClientId', this.identity.brokerClient!.userPoolClientId, 'Cognito app client through which fhirgate signs users in for SMART apps');
      output('BrokerSecretArn', this.appLaunch.brokerSecret.secretArn, 'Secrets Manager secret holding the broker client secret');
      const firstParty = this.appLaunch.firstPartyApps?.apps ?? [];
      if (firstParty.length > 0) {
        output('PortalClientId', firstParty[0]!.clientId, 'Client id of the first first-party SMART app (examples/patient-portal/build.ts --cdk-outputs reads it)');
        output('FirstPartyAppClientIds', firstParty.map((a) => a.clientId).join(','), 'Client ids of the SMART apps this stack registers');
      }
    }
    if (this.exportBucket) output('ExportBucketName', this.exportBucket.bucket.bucketName, 'S3 bucket HealthLake writes Bulk Data $export files to (expired by lifecycle)');
    if (this.backend.datastore) output('HealthLakeDatastoreId', this.backend.datastore.attrDatastoreId, 'HealthLake FHIR data store');
    if (this.auditTrail) output('AuditTrailBucketName', this.auditTrail.bucket.bucketName, 'S3 bucket of the CloudTrail trail (data events of the tables and the data store, KMS use)');
    if (this.api.customDomain) {
      output('CustomDomainTarget', this.api.customDomain.domain.domainNameAliasDomainName, `Regional API Gateway host to point ${props.customDomain!.domainName} at (CNAME or Route 53 alias)`);
    }
  }
}

/** Check every prop before the stack creates anything; TypeError naming the prop. */
export function validateStackProps(props: FhirgateStackProps): ResolvedSettings {
  const fail = (message: string): never => {
    throw new TypeError(`fhirgate stack: ${message}`);
  };
  const settings = resolveSettings(props.settings);
  const identity = props.identity ?? {};
  if (identity.mfa !== undefined && identity.mfa !== 'optional' && identity.mfa !== 'required') fail(`identity.mfa must be 'optional' or 'required'`);
  const prefix = identity.domainPrefix;
  if (prefix !== undefined && (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(prefix) || /aws|amazon|cognito/.test(prefix))) {
    fail(`identity.domainPrefix ${JSON.stringify(prefix)} must be lower-case letters, digits and dashes, and contain no "aws", "amazon" or "cognito"`);
  }
  for (const [name, urls] of [['callbackUrls', identity.callbackUrls], ['logoutUrls', identity.logoutUrls]] as const) {
    for (const url of urls ?? []) if (!isRedirectUrl(url)) fail(`identity.${name}: ${JSON.stringify(url)} must be https (or http://localhost)`);
  }
  const clients: MachineClient[] = [{ name: 'api-server', scopes: identity.apiServerScopes ?? [] }, ...(identity.machineClients ?? [])];
  const names = new Set<string>();
  for (const c of clients) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(c.name)) fail(`machine client name ${JSON.stringify(c.name)} must be 1-64 letters, digits or dashes`);
    if (names.has(c.name)) fail(`machine client ${JSON.stringify(c.name)} is defined twice`);
    names.add(c.name);
    for (const scope of c.scopes) {
      const parsed = parseScope(scope);
      const system = parsed.ok && parsed.kind === 'resource' && parsed.scope.context === 'system';
      if (!system && scope !== DELEGATION_SCOPE) fail(`machine client ${c.name}: scope ${JSON.stringify(scope)} must be a system/ SMART scope or ${DELEGATION_SCOPE}`);
    }
  }
  if (props.waf !== undefined && typeof props.waf !== 'boolean') fail('waf must be a boolean');
  const days = props.exportExpirationDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 365)) fail('exportExpirationDays must be a whole number of days, 1 to 365');
  const throttles: [string, Throttle | undefined][] = [['throttle', props.throttle], ...Object.entries(props.publicRouteThrottle ?? {}).map(([route, t]): [string, Throttle | undefined] => [`publicRouteThrottle[${route}]`, t])];
  for (const [name, t] of throttles) {
    if (t && !(t.rateLimit > 0 && Number.isInteger(t.burstLimit) && t.burstLimit > 0)) fail(`${name} needs a positive rateLimit and a positive integer burstLimit`);
  }
  if (props.stageName !== undefined && !/^[A-Za-z0-9_]{1,128}$/.test(props.stageName)) fail('stageName must be letters, digits or underscores');
  for (const [name, value] of Object.entries(props.reservedConcurrency ?? {})) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) fail(`reservedConcurrency.${name} must be a positive integer`);
  }
  for (const arn of props.retiringSigningKeyArns ?? []) {
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(arn)) fail(`retiringSigningKeyArns: ${JSON.stringify(arn)} is not a KMS key ARN`);
  }
  if (props.tlsSecurityPolicy !== undefined && !REGIONAL_SECURITY_POLICIES.includes(props.tlsSecurityPolicy)) {
    fail(`tlsSecurityPolicy must be one of ${REGIONAL_SECURITY_POLICIES.join(', ')} (enhanced policies for regional endpoints, TLS 1.2 at least)`);
  }
  if (props.customDomain !== undefined) validateCustomDomain(props.customDomain, props.env?.region, fail);
  const trail = props.cloudTrail;
  if (trail !== undefined) {
    if (trail === null || typeof trail !== 'object') fail('cloudTrail must be an object ({} for the defaults)');
    if (trail.managementEvents !== undefined && typeof trail.managementEvents !== 'boolean') fail('cloudTrail.managementEvents must be a boolean');
    const days = trail.retentionDays;
    // S3 expires by whole days; a year at least, so an audit record outlives the questions about it.
    if (days !== undefined && !(Number.isInteger(days) && days >= 365 && days <= 36_500)) fail('cloudTrail.retentionDays must be a whole number of days, 365 to 36500');
  }
  validateAppLaunch(props, fail);
  return settings;
}

/** A custom domain API Gateway will accept for a regional endpoint. */
function validateCustomDomain(domain: CustomDomainOptions, stackRegion: string | undefined, fail: (message: string) => never): void {
  const name = domain.domainName;
  // RFC 1123 labels, at least two, lower case (API Gateway refuses upper case), no wildcard, no trailing dot.
  if (typeof name !== 'string' || name.length > 253 || !/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(name)) {
    fail(`customDomain.domainName ${JSON.stringify(name)} must be a lower-case DNS name such as fhir.example.org (no wildcard, no trailing dot)`);
  }
  const arn = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/.exec(domain.certificateArn ?? '');
  if (!arn) fail(`customDomain.certificateArn ${JSON.stringify(domain.certificateArn)} is not an ACM certificate ARN`);
  // A regional domain name takes a certificate from its own region (edge-optimized ones would need us-east-1).
  if (stackRegion !== undefined && !Token.isUnresolved(stackRegion) && arn![1] !== stackRegion) {
    fail(`customDomain.certificateArn is in ${arn![1]}, but a regional custom domain needs an ACM certificate in the stack's region ${stackRegion}`);
  }
  const zone = domain.hostedZone;
  if (zone !== undefined) {
    if (!/^Z[A-Z0-9]{1,31}$/.test(zone.hostedZoneId ?? '')) fail(`customDomain.hostedZone.hostedZoneId ${JSON.stringify(zone.hostedZoneId)} is not a Route 53 hosted zone id`);
    const zoneName = (zone.zoneName ?? '').replace(/\.$/, '');
    if (!(name === zoneName || name.endsWith(`.${zoneName}`))) fail(`customDomain.hostedZone.zoneName ${JSON.stringify(zone.zoneName)} must contain ${name}`);
  }
  if (domain.disableExecuteApiEndpoint !== undefined && typeof domain.disableExecuteApiEndpoint !== 'boolean') fail('customDomain.disableExecuteApiEndpoint must be a boolean');
}

/** The `appLaunch` prop, with the token service's own rules (an app: `checkAppClient`; the policy: its env parser). */
function validateAppLaunch(props: FhirgateStackProps, fail: (message: string) => never): void {
  const launch = props.appLaunch ?? {};
  if (launch.enabled !== undefined && typeof launch.enabled !== 'boolean') fail('appLaunch.enabled must be a boolean');
  if (launch.enabled === false) {
    const set = (['firstPartyApps', 'roleScopes', 'accessTokenSeconds', 'offlineSeconds'] as const).filter((k) => launch[k] !== undefined);
    if (set.length > 0) fail(`appLaunch.${set[0]} is set but appLaunch.enabled is false`);
    const throttled = Object.keys(props.publicRouteThrottle ?? {}).filter((route) => (APP_LAUNCH_ROUTES as readonly string[]).includes(route));
    if (throttled.length > 0) fail(`publicRouteThrottle[${throttled[0]}]: that route exists only with SMART App Launch (appLaunch.enabled is false)`);
    return;
  }
  try {
    checkAppLaunchPolicy(launch);
  } catch (err) {
    fail(`appLaunch: ${(err as Error).message}`);
  }
  const ids = new Set<string>();
  (launch.firstPartyApps ?? []).forEach((app, i) => {
    const where = `appLaunch.firstPartyApps[${i}]${typeof app?.clientId === 'string' ? ` (${app.clientId})` : ''}`;
    if (typeof app?.name !== 'string' || !/^[^\u0000-\u001f<>]{1,100}$/.test(app.name)) fail(`${where}: name must be 1-100 characters, no control characters or angle brackets`);
    try {
      checkAppClient({ clientId: app.clientId, name: app.name, status: 'active', redirectUris: [...(app.redirectUris ?? [])], scopes: [...(app.scopes ?? [])] });
    } catch (err) {
      fail(`${where}: ${(err as Error).message}`);
    }
    if (ids.has(app.clientId)) fail(`${where}: client id ${JSON.stringify(app.clientId)} is listed twice`);
    ids.add(app.clientId);
  });
}

function isRedirectUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === 'localhost');
  } catch {
    return false;
  }
}
