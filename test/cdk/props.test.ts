/**
 * Props are validated before the stack creates anything, with errors that name the prop; CDK
 * context (`-c key=value`) is read into those props. No synthesis here.
 */
import { App } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { CONTEXT_KEYS, configFromContext } from '../../lib/context';
import { FhirgateStack, FhirgateStackProps, validateStackProps } from '../../lib/fhirgate-stack';
import { poolScopes, splitScope } from '../../lib/identity';
import { DEFAULT_FHIRGATE_SETTINGS, resolveSettings } from '../../lib/settings';

const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-1b1a-2c2b-3d3c-4e4d4c4b4a49';

describe('validateStackProps', () => {
  test('defaults: HealthLake, 300 s authorizer cache, 60 s link cache, 300 s exchanged tokens, DEFAULT_SETTINGS', () => {
    expect(validateStackProps({})).toEqual(DEFAULT_FHIRGATE_SETTINGS);
    expect(DEFAULT_FHIRGATE_SETTINGS).toMatchObject({ authorizerCacheTtlSeconds: 300, linkCacheTtlSeconds: 60, exchangedTokenLifetimeSeconds: 300, backend: { kind: 'healthlake' } });
    expect(DEFAULT_FHIRGATE_SETTINGS.authz).toBe(DEFAULT_SETTINGS);
  });

  test.each<[string, FhirgateStackProps, RegExp]>([
    ['authorizer cache beyond API Gateway\'s 3600 s', { settings: { authorizerCacheTtlSeconds: 7200 } }, /authorizerCacheTtlSeconds must be an integer 0..3600/],
    ['negative link cache', { settings: { linkCacheTtlSeconds: -1 } }, /linkCacheTtlSeconds/],
    ['exchanged tokens beyond 5 minutes (docs/patterns/on-behalf-of.md)', { settings: { exchangedTokenLifetimeSeconds: 600 } }, /exchangedTokenLifetimeSeconds must be an integer 1..300/],
    ['plain-http backend', { settings: { backend: { kind: 'url', url: 'http://fhir.example.org/r4' } } }, /backend.url must be https/],
    ['backend with a query', { settings: { backend: { kind: 'url', url: 'https://fhir.example.org/r4?x=1' } } }, /query/],
    ['backend that is no URL', { settings: { backend: { kind: 'url', url: 'fhir.example.org' } } }, /absolute URL/],
    [
      'a malformed SMART scope in a role',
      { settings: { authz: { ...DEFAULT_SETTINGS, roles: { ...DEFAULT_SETTINGS.roles, patient: { ...DEFAULT_SETTINGS.roles.patient, defaultScopes: ['patient/*.xyz'] } } } } },
      /authz: invalid fhirgate settings at roles.patient.defaultScopes/,
    ],
    ['an unknown MFA mode', { identity: { mfa: 'sometimes' as 'optional' } }, /identity.mfa/],
    ['a domain prefix Cognito refuses', { identity: { domainPrefix: 'my-cognito-login' } }, /domainPrefix/],
    ['an http callback that is not localhost', { identity: { callbackUrls: ['http://app.example.org/cb'] } }, /callbackUrls.*https/],
    ['a machine client with a patient scope', { identity: { machineClients: [{ name: 'etl', scopes: ['patient/*.rs'] }] } }, /machine client etl: scope "patient\/\*\.rs" must be a system\/ SMART scope/],
    ['a second api-server', { identity: { machineClients: [{ name: 'api-server', scopes: [] }] } }, /defined twice/],
    ['a stage name with a dash', { stageName: 'my-stage' }, /stageName/],
    ['zero reserved concurrency', { reservedConcurrency: { proxy: 0 } }, /reservedConcurrency.proxy/],
    ['a retiring key that is an alias', { retiringSigningKeyArns: ['alias/old'] }, /retiringSigningKeyArns/],
    ['CORS for any origin', { settings: { corsAllowedOrigins: ['*'] } }, /corsAllowedOrigins: allowed origin "\*" is a wildcard/],
    ['a CORS origin with a path', { settings: { corsAllowedOrigins: ['https://portal.example.com/app'] } }, /corsAllowedOrigins: .*without a path/],
    ['a plain-http CORS origin that is not loopback', { settings: { corsAllowedOrigins: ['http://portal.example.com'] } }, /corsAllowedOrigins: .*must be https/],
    ['a CORS origin listed twice', { settings: { corsAllowedOrigins: ['https://a.example', 'https://a.example'] } }, /corsAllowedOrigins: .*listed twice/],
    ['a backend client id with a comma (it would split the allow-list variable)', { settings: { backendClientIds: ['a,b'] } }, /backendClientIds: "a,b" must be 1-128/],
    ['a backend client id with a space', { settings: { backendClientIds: ['etl nightly'] } }, /backendClientIds: "etl nightly"/],
    ['an empty backend client id', { settings: { backendClientIds: [''] } }, /backendClientIds: ""/],
    ['a backend client id longer than 128 characters', { settings: { backendClientIds: ['x'.repeat(129)] } }, /backendClientIds/],
    ['a backend client listed twice', { settings: { backendClientIds: ['etl', 'etl'] } }, /backendClientIds: "etl" is listed twice/],
    ['a custom domain in upper case (API Gateway refuses it)', { customDomain: { domainName: 'FHIR.example.org', certificateArn: CERT } }, /customDomain.domainName "FHIR.example.org" must be a lower-case DNS name/],
    ['a wildcard custom domain', { customDomain: { domainName: '*.example.org', certificateArn: CERT } }, /customDomain.domainName/],
    ['a custom domain with a scheme', { customDomain: { domainName: 'https://fhir.example.org', certificateArn: CERT } }, /customDomain.domainName/],
    ['a single-label custom domain', { customDomain: { domainName: 'fhir', certificateArn: CERT } }, /customDomain.domainName/],
    ['a certificate that is no ACM ARN', { customDomain: { domainName: 'fhir.example.org', certificateArn: 'arn:aws:iam::123456789012:server-certificate/x' } }, /customDomain.certificateArn .* is not an ACM certificate ARN/],
    [
      'a certificate from another region than the regional endpoint',
      { env: { region: 'eu-west-1' }, customDomain: { domainName: 'fhir.example.org', certificateArn: CERT.replace('eu-west-1', 'us-east-1') } },
      /customDomain.certificateArn is in us-east-1, but a regional custom domain needs an ACM certificate in the stack's region eu-west-1/,
    ],
    ['a hosted zone that does not hold the domain', { customDomain: { domainName: 'fhir.example.org', certificateArn: CERT, hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' } } }, /customDomain.hostedZone.zoneName "example.com" must contain fhir.example.org/],
    ['a hosted zone id that is no Route 53 id', { customDomain: { domainName: 'fhir.example.org', certificateArn: CERT, hostedZone: { hostedZoneId: 'example.org', zoneName: 'example.org' } } }, /customDomain.hostedZone.hostedZoneId/],
    ['the legacy TLS_1_2 policy', { tlsSecurityPolicy: apigw.SecurityPolicy.TLS_1_2 }, /tlsSecurityPolicy must be one of SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09/],
    ['an edge-only TLS policy (the API is regional)', { tlsSecurityPolicy: apigw.SecurityPolicy.TLS13_2025_EDGE }, /tlsSecurityPolicy/],
    ['a trail kept less than a year', { cloudTrail: { retentionDays: 90 } }, /cloudTrail.retentionDays must be a whole number of days, 365 to 36500/],
    ['a trail retention in fractions of a day', { cloudTrail: { retentionDays: 400.5 } }, /cloudTrail.retentionDays/],
    ['a trail switch that is no boolean', { cloudTrail: { managementEvents: 'yes' as unknown as boolean } }, /cloudTrail.managementEvents must be a boolean/],
  ])('refuses %s', (_name, props, message) => {
    expect(() => validateStackProps(props)).toThrow(message);
    // …before creating anything: the stack constructor validates first.
    const app = new App();
    expect(() => new FhirgateStack(app, 'Invalid', props)).toThrow(TypeError);
    expect(app.node.findAll().length).toBe(1);
  });

  test('resolveSettings keeps CORS origins as given, in order; none by default', () => {
    const origins = ['https://portal.example.com', 'http://localhost:5173', 'http://127.0.0.1:8080'];
    expect(resolveSettings({ corsAllowedOrigins: origins }).corsAllowedOrigins).toEqual(origins);
    expect(resolveSettings({}).corsAllowedOrigins).toEqual([]);
  });

  test('resolveSettings keeps backend client ids (RFC 3986 unreserved characters) as given; none by default', () => {
    const ids = ['etl-nightly', 'analytics.svc', 'a_b~c', 'x'.repeat(128)];
    expect(resolveSettings({ backendClientIds: ids }).backendClientIds).toEqual(ids);
    expect(resolveSettings({}).backendClientIds).toEqual([]);
  });

  test('resolveSettings normalises a URL backend (trailing slash)', () => {
    expect(resolveSettings({ backend: { kind: 'url', url: 'https://fhir.example.org/r4/' } }).backend).toEqual({ kind: 'url', url: 'https://fhir.example.org/r4' });
  });
});

describe('SMART scopes as Cognito custom scopes', () => {
  test.each([
    ['patient/*.rs', ['patient', '*.rs']],
    ['user/Observation.cu', ['user', 'Observation.cu']],
    ['launch/patient', ['launch', 'patient']],
    ['fhirgate/delegate', ['fhirgate', 'delegate']],
  ])('%s → resource server %j', (scope, expected) => {
    expect(splitScope(scope)).toEqual(expected);
  });

  test.each(['openid', 'patient/Observation.rs?code=a b', 'other/x', '/x'])('refuses %j', (scope) => {
    expect(() => splitScope(scope)).toThrow(TypeError);
  });

  test('the pool defines every scope the settings and the clients name', () => {
    const scopes = poolScopes(DEFAULT_SETTINGS, [{ name: 'analytics', scopes: ['system/Observation.rs'] }]);
    expect(scopes).toEqual(expect.arrayContaining(['patient/*.rs', 'user/Encounter.cu', 'system/*.cruds', 'system/Observation.rs', 'fhirgate/delegate', 'launch/patient']));
    expect(new Set(scopes).size).toBe(scopes.length);
  });
});

describe('configFromContext (-c key=value)', () => {
  const from = (context: Record<string, unknown>, files: Record<string, string> = {}) =>
    configFromContext((key) => context[key], (path) => {
      if (!(path in files)) throw new Error('ENOENT');
      return files[path]!;
    });

  test('no context: stack Fhirgate, HealthLake, every other default left to the stack', () => {
    const { stackName, props } = from({});
    expect(stackName).toBe('Fhirgate');
    expect(props.settings?.backend).toEqual({ kind: 'healthlake', datastoreName: undefined });
    expect(validateStackProps(props)).toEqual(DEFAULT_FHIRGATE_SETTINGS);
  });

  test('strings from the command line and JSON values from cdk.json both work', () => {
    const { props } = from({
      backendUrl: 'https://fhir.example.org/r4',
      mfa: 'required',
      selfSignUp: 'true',
      featurePlan: 'essentials',
      domainPrefix: 'acme-health',
      callbackUrls: 'https://app.example.org/cb, http://localhost:5173/callback',
      apiServerScopes: 'system/Patient.rs fhirgate/delegate',
      waf: true,
      wafRateLimitPerCaller: '600',
      authorizerCacheTtl: 60,
      linkCacheTtl: '10',
      exchangeTokenLifetime: '120',
      logRetentionDays: '731',
      throttleRate: '50',
      sourceMaps: 'false',
      corsOrigins: 'https://portal.example.com, http://localhost:5173',
      backendClientIds: 'etl-nightly, analytics.svc',
    });
    expect(props).toMatchObject({
      settings: {
        backend: { kind: 'url', url: 'https://fhir.example.org/r4' },
        authorizerCacheTtlSeconds: 60,
        linkCacheTtlSeconds: 10,
        exchangedTokenLifetimeSeconds: 120,
        corsAllowedOrigins: ['https://portal.example.com', 'http://localhost:5173'],
        backendClientIds: ['etl-nightly', 'analytics.svc'],
      },
      identity: {
        mfa: 'required',
        selfSignUp: true,
        featurePlan: cognito.FeaturePlan.ESSENTIALS,
        domainPrefix: 'acme-health',
        callbackUrls: ['https://app.example.org/cb', 'http://localhost:5173/callback'],
        apiServerScopes: ['system/Patient.rs', 'fhirgate/delegate'],
      },
      waf: true,
      wafRateLimits: { perCaller: 600, perIp: undefined },
      logRetention: 731,
      throttle: { rateLimit: 50, burstLimit: 200 },
      sourceMaps: false,
    });
    expect(() => validateStackProps(props)).not.toThrow();
  });

  test('settingsFile: roles and scopes from a JSON file, validated by the stack', () => {
    const custom = { ...DEFAULT_SETTINGS, sharedResourceTypes: ['Organization'] };
    const { props } = from({ settingsFile: 'authz.json' }, { 'authz.json': JSON.stringify(custom) });
    expect(validateStackProps(props).authz.sharedResourceTypes).toEqual(['Organization']);
    const broken = from({ settingsFile: 'bad.json' }, { 'bad.json': '{"roles":{}}' });
    expect(() => validateStackProps(broken.props)).toThrow(/authz: invalid fhirgate settings at roles.patient/);
  });

  test.each<[Record<string, unknown>, RegExp]>([
    [{ waf: 'yes' }, /context waf: must be true or false/],
    [{ mfa: 'always' }, /context mfa: must be one of optional, required/],
    [{ featurePlan: 'lite' }, /context featurePlan/],
    [{ authorizerCacheTtl: '5m' }, /context authorizerCacheTtl: must be a whole number/],
    [{ logRetentionDays: '42' }, /context logRetentionDays/],
    [{ settingsFile: 'missing.json' }, /context settingsFile: cannot read JSON from missing.json/],
    [{ backendUrl: 'https://x.example/r4', datastoreName: 'x' }, /context datastoreName/],
    [{ customDomainName: 'fhir.example.org' }, /context customDomainCertificateArn: customDomainName and customDomainCertificateArn go together/],
    [{ customDomainCertificateArn: CERT }, /context customDomainName/],
    [{ customDomainName: 'fhir.example.org', customDomainCertificateArn: CERT, customDomainHostedZoneId: 'Z0123456789ABC' }, /context customDomainHostedZoneName/],
    [{ disableExecuteApiEndpoint: 'true' }, /context disableExecuteApiEndpoint: needs customDomainName/],
    [{ cloudTrail: 'on' }, /context cloudTrail: must be true or false/],
  ])('refuses %j', (context, message) => {
    expect(() => from(context)).toThrow(message);
  });

  test('corsOrigins as a JSON list from cdk.json; a bad origin is refused by the stack', () => {
    expect(from({ corsOrigins: ['https://portal.example.com'] }).props.settings?.corsAllowedOrigins).toEqual(['https://portal.example.com']);
    expect(() => validateStackProps(from({ corsOrigins: '*' }).props)).toThrow(/corsAllowedOrigins: allowed origin "\*" is a wildcard/);
  });

  test('backendClientIds as a JSON list from cdk.json; a bad id is refused by the stack', () => {
    expect(from({ backendClientIds: ['etl-nightly'] }).props.settings?.backendClientIds).toEqual(['etl-nightly']);
    expect(() => validateStackProps(from({ backendClientIds: 'etl/nightly' }).props)).toThrow(/backendClientIds: "etl\/nightly"/);
  });

  test('a custom domain, its hosted zone, the execute-api switch and the TLS policy from context; validated by the stack', () => {
    const { props } = from({
      customDomainName: 'fhir.example.org',
      customDomainCertificateArn: CERT,
      customDomainHostedZoneId: 'Z0123456789ABC',
      customDomainHostedZoneName: 'example.org',
      disableExecuteApiEndpoint: 'false',
      tlsSecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
    });
    expect(props.customDomain).toEqual({ domainName: 'fhir.example.org', certificateArn: CERT, hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.org' }, disableExecuteApiEndpoint: false });
    expect(props.tlsSecurityPolicy).toBe(apigw.SecurityPolicy.TLS13_1_3_2025_09);
    expect(() => validateStackProps(props)).not.toThrow();
    expect(() => validateStackProps(from({ tlsSecurityPolicy: 'TLS_1_0' }).props)).toThrow(/tlsSecurityPolicy must be one of/);
  });

  test('cloudTrail=true turns the trail on with its defaults; false or absent leaves it off', () => {
    expect(from({ cloudTrail: 'true' }).props.cloudTrail).toEqual({});
    expect(from({ cloudTrail: false }).props.cloudTrail).toBeUndefined();
    expect(from({}).props.cloudTrail).toBeUndefined();
  });

  test('every documented key is read', () => {
    const seen = new Set<string>();
    configFromContext((key) => {
      seen.add(key);
      return undefined;
    });
    expect([...seen].sort()).toEqual([...CONTEXT_KEYS].sort());
  });
});
