/**
 * CDK context overrides (`cdk deploy -c key=value`, or "context" in cdk.json) → stack props.
 * Values arrive as strings from the command line and as JSON values from cdk.json; both work.
 *
 * | key | value | effect |
 * |---|---|---|
 * | `stackName` | name | CloudFormation stack name (default `Fhirgate`) |
 * | `backendUrl` | https URL | use this FHIR R4 base instead of creating a HealthLake data store |
 * | `datastoreName` | name | name of the HealthLake data store created (default `<stack>-fhir`) |
 * | `mfa` | `optional` \| `required` | Cognito MFA (TOTP) (default `optional`) |
 * | `selfSignUp` | `true` \| `false` | anyone may create an account (default `false`) |
 * | `featurePlan` | `plus` \| `essentials` | Cognito feature plan; PLUS adds enforced threat protection (default `essentials`) |
 * | `domainPrefix` | prefix | managed-login domain prefix (default `fhirgate-<account>`) |
 * | `callbackUrls`, `logoutUrls` | comma-separated URLs | web client redirect URIs |
 * | `apiServerScopes` | space-separated scopes | scopes of the `api-server` client (default `system/*.rs fhirgate/delegate`) |
 * | `waf` | `true` \| `false` | AWS WAF in front of the API (default `true`) |
 * | `wafRateLimitPerCaller`, `wafRateLimitPerIp` | numbers | WAF requests per 5 minutes per token / per address (default 3000 / 30000) |
 * | `authorizerCacheTtl` | seconds 0..3600 | authorizer result cache per token (default 300) |
 * | `linkCacheTtl` | seconds 0..3600 | link record cache (default 60) |
 * | `exchangeTokenLifetime` | seconds 1..300 | lifetime of exchanged tokens (default 300) |
 * | `corsOrigins` | comma-separated origins | browser frontends allowed to call the FHIR API (CORS), e.g. `https://portal.example.com`; never `*` (default none) |
 * | `backendClientIds` | comma-separated client ids | SMART Backend Services (private_key_jwt) clients, registered with the admin CLI, allowed to get tokens and reach the FHIR API (default none) |
 * | `settingsFile` | path to JSON | roles, scopes and shared types (`AuthzSettings`, default DEFAULT_SETTINGS) |
 * | `logRetentionDays` | a CloudWatch retention value | retention of every log group (default 2192, six years) |
 * | `throttleRate`, `throttleBurst` | numbers | stage throttling (default 100 / 200) |
 * | `sourceMaps` | `true` \| `false` | ship source maps (default `false`) |
 * | `customDomainName`, `customDomainCertificateArn` | DNS name, ACM certificate ARN (same region) | serve the API on this domain; every public URL uses it (default none: execute-api) |
 * | `customDomainHostedZoneId`, `customDomainHostedZoneName` | Route 53 zone id and name | create the domain's alias record there (default none: point a CNAME at the `CustomDomainTarget` output) |
 * | `disableExecuteApiEndpoint` | `true` \| `false` | with a custom domain, switch the execute-api endpoint off (default `true`) |
 * | `tlsSecurityPolicy` | an enhanced regional policy name | TLS policy of the API and its domain (default `SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09`) |
 * | `cloudTrail` | `true` \| `false` | a CloudTrail trail with data events for the tables and the data store, and management events (KMS use) (default `false`) |
 * | `appLaunch` | `true` \| `false` | SMART App Launch authorization server for browser apps (default `true`) |
 * | `portalRedirectUris` | comma-separated URLs | register the example portal (`patient-portal`) as a first-party SMART app with these redirect URIs (default: not registered) |
 */
import { readFileSync } from 'node:fs';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { AuthzSettings } from '../functions/core/settings';
import { PORTAL_CLIENT_ID, PORTAL_NAME, PORTAL_SCOPES } from './example-portal';
import type { FhirgateStackProps } from './fhirgate-stack';

/** The context keys fhirgate reads (documented in the table above and in the README). */
export const CONTEXT_KEYS = [
  'stackName',
  'backendUrl',
  'datastoreName',
  'mfa',
  'selfSignUp',
  'featurePlan',
  'domainPrefix',
  'callbackUrls',
  'logoutUrls',
  'apiServerScopes',
  'waf',
  'wafRateLimitPerCaller',
  'wafRateLimitPerIp',
  'authorizerCacheTtl',
  'linkCacheTtl',
  'exchangeTokenLifetime',
  'corsOrigins',
  'backendClientIds',
  'settingsFile',
  'logRetentionDays',
  'throttleRate',
  'throttleBurst',
  'sourceMaps',
  'customDomainName',
  'customDomainCertificateArn',
  'customDomainHostedZoneId',
  'customDomainHostedZoneName',
  'disableExecuteApiEndpoint',
  'tlsSecurityPolicy',
  'cloudTrail',
  'appLaunch',
  'portalRedirectUris',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface AppConfig {
  readonly stackName: string;
  readonly props: FhirgateStackProps;
}

/** Read the context (through `get`, e.g. `key => app.node.tryGetContext(key)`); TypeError naming the key. */
export function configFromContext(get: (key: ContextKey) => unknown, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): AppConfig {
  const fail = (key: ContextKey, message: string): never => {
    throw new TypeError(`context ${key}: ${message}`);
  };
  const str = (key: ContextKey): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : fail(key, 'must be a string');
  };
  const bool = (key: ContextKey): boolean | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    return v === 'true' ? true : v === 'false' ? false : fail(key, `must be true or false (got ${JSON.stringify(v)})`);
  };
  const int = (key: ContextKey): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    return /^\d+$/.test(v) ? Number(v) : fail(key, `must be a whole number (got ${JSON.stringify(v)})`);
  };
  const list = (key: ContextKey, separator: RegExp): string[] | undefined => {
    const v = get(key);
    if (Array.isArray(v)) return v.map(String);
    return str(key)?.split(separator).map((s) => s.trim()).filter(Boolean);
  };
  const oneOf = <T extends string>(key: ContextKey, allowed: readonly T[]): T | undefined => {
    const v = str(key);
    return v === undefined || (allowed as readonly string[]).includes(v) ? (v as T | undefined) : fail(key, `must be one of ${allowed.join(', ')}`);
  };

  const backendUrl = str('backendUrl');
  const datastoreName = str('datastoreName');
  if (backendUrl && datastoreName) fail('datastoreName', 'makes no sense with backendUrl (no data store is created)');
  const settingsFile = str('settingsFile');
  let authz: AuthzSettings | undefined;
  if (settingsFile) {
    try {
      authz = JSON.parse(readFile(settingsFile)) as AuthzSettings; // validated by the stack
    } catch (err) {
      fail('settingsFile', `cannot read JSON from ${settingsFile}: ${(err as Error).message}`);
    }
  }
  const plan = oneOf('featurePlan', ['plus', 'essentials'] as const);
  const retention = int('logRetentionDays');
  if (retention !== undefined && !(Object.values(logs.RetentionDays) as number[]).includes(retention)) {
    fail('logRetentionDays', 'must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)');
  }
  const rate = int('throttleRate');
  const burst = int('throttleBurst');
  const wafPerCaller = int('wafRateLimitPerCaller');
  const wafPerIp = int('wafRateLimitPerIp');
  const domainName = str('customDomainName');
  const certificateArn = str('customDomainCertificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) fail(domainName ? 'customDomainCertificateArn' : 'customDomainName', 'customDomainName and customDomainCertificateArn go together');
  const zoneId = str('customDomainHostedZoneId');
  const zoneName = str('customDomainHostedZoneName');
  if ((zoneId === undefined) !== (zoneName === undefined)) fail(zoneId ? 'customDomainHostedZoneName' : 'customDomainHostedZoneId', 'customDomainHostedZoneId and customDomainHostedZoneName go together');
  if (zoneId && !domainName) fail('customDomainHostedZoneId', 'needs customDomainName');
  const disableExecuteApi = bool('disableExecuteApiEndpoint');
  if (disableExecuteApi !== undefined && !domainName) fail('disableExecuteApiEndpoint', 'needs customDomainName (the execute-api endpoint is the only one without it)');
  const appLaunch = bool('appLaunch');
  const portalRedirectUris = list('portalRedirectUris', /,/); // validated by the stack
  if (appLaunch === false && portalRedirectUris) fail('portalRedirectUris', 'registers a SMART app, which needs appLaunch');

  const props: FhirgateStackProps = {
    settings: {
      authz,
      authorizerCacheTtlSeconds: int('authorizerCacheTtl'),
      linkCacheTtlSeconds: int('linkCacheTtl'),
      exchangedTokenLifetimeSeconds: int('exchangeTokenLifetime'),
      backend: backendUrl ? { kind: 'url', url: backendUrl } : { kind: 'healthlake', datastoreName },
      corsAllowedOrigins: list('corsOrigins', /,/), // validated by the stack
      backendClientIds: list('backendClientIds', /,/), // validated by the stack
    },
    identity: {
      mfa: oneOf('mfa', ['optional', 'required'] as const),
      selfSignUp: bool('selfSignUp'),
      featurePlan: plan === undefined ? undefined : plan === 'plus' ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      domainPrefix: str('domainPrefix'),
      callbackUrls: list('callbackUrls', /,/),
      logoutUrls: list('logoutUrls', /,/),
      apiServerScopes: list('apiServerScopes', /\s+/),
    },
    waf: bool('waf'),
    wafRateLimits: wafPerCaller === undefined && wafPerIp === undefined ? undefined : { perCaller: wafPerCaller, perIp: wafPerIp },
    logRetention: retention as logs.RetentionDays | undefined,
    throttle: rate === undefined && burst === undefined ? undefined : { rateLimit: rate ?? 100, burstLimit: burst ?? 200 },
    sourceMaps: bool('sourceMaps'),
    customDomain:
      domainName && certificateArn
        ? {
            domainName,
            certificateArn,
            ...(zoneId && zoneName ? { hostedZone: { hostedZoneId: zoneId, zoneName } } : {}),
            ...(disableExecuteApi !== undefined ? { disableExecuteApiEndpoint: disableExecuteApi } : {}),
          }
        : undefined,
    tlsSecurityPolicy: str('tlsSecurityPolicy') as apigw.SecurityPolicy | undefined, // validated by the stack
    cloudTrail: bool('cloudTrail') ? {} : undefined,
    appLaunch: {
      enabled: appLaunch,
      ...(portalRedirectUris ? { firstPartyApps: [{ clientId: PORTAL_CLIENT_ID, name: PORTAL_NAME, redirectUris: portalRedirectUris, scopes: PORTAL_SCOPES }] } : {}),
    },
  };
  return { stackName: str('stackName') ?? 'Fhirgate', props };
}
