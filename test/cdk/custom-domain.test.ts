/**
 * The API on a custom domain (`-c customDomainName=… -c customDomainCertificateArn=…`): a regional
 * domain name with an enhanced TLS policy, its root mapped to the stage, an alias record, the
 * execute-api endpoint off — and every public URL the stack computes, the functions are given and
 * the outputs show, on the domain. Without the option nothing of it exists. Synthesized without
 * bundling, with both nag packs.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ENV } from '../../functions/adapters/authz-config';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { publicBaseFromEvent } from '../../functions/fhir-proxy/event';
import { EXCHANGE_ENV } from '../../functions/token-exchange/config';
import { nagViolations, resourcesOfType, Synthesized, synthesize } from './synth';

const DOMAIN = 'fhir.example.org';
const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-1b1a-2c2b-3d3c-4e4d4c4b4a49';
let s: Synthesized;
let plain: Synthesized;
beforeAll(() => {
  s = synthesize({
    stackName: 'FhirgateDomain',
    customDomainName: DOMAIN,
    customDomainCertificateArn: CERTIFICATE,
    customDomainHostedZoneId: 'Z0123456789ABCDEFGHIJ',
    customDomainHostedZoneName: 'example.org',
  });
  plain = synthesize({ stackName: 'FhirgatePlain' }); // every default
});

const id = (t: Synthesized, element: unknown) => t.stack.getLogicalId(element as CfnElement);
const env = (t: Synthesized, piece: 'authorizer' | 'proxy' | 'tokenService') => t.template.toJSON().Resources[id(t, t.stack[piece].function.node.defaultChild)].Properties.Environment.Variables;
/** Every function environment and every output, as the JSON CloudFormation receives. */
const published = (t: Synthesized) =>
  JSON.stringify([...resourcesOfType(t.template, 'AWS::Lambda::Function').map(([, p]) => p.Environment ?? {}), t.template.toJSON().Outputs]);

describe('the custom domain', () => {
  test('regional, with the ACM certificate, the enhanced TLS 1.2+ policy and STRICT endpoint access', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: DOMAIN,
      RegionalCertificateArn: CERTIFICATE,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09',
      EndpointAccessMode: 'STRICT',
    });
  });

  test('its root maps to the API stage', () => {
    const [, mapping] = resourcesOfType(s.template, 'AWS::ApiGateway::BasePathMapping')[0]!;
    expect(mapping).toEqual({
      DomainName: { Ref: id(s, s.stack.api.customDomain!.domain.node.defaultChild) },
      RestApiId: { Ref: id(s, s.stack.api.restApi.node.defaultChild) },
      Stage: { Ref: id(s, s.stack.api.restApi.deploymentStage.node.defaultChild) },
    });
  });

  test('an alias A record in the hosted zone points the name at the regional endpoint', () => {
    s.template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `${DOMAIN}.`,
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: { DNSName: { 'Fn::GetAtt': [id(s, s.stack.api.customDomain!.domain.node.defaultChild), 'RegionalDomainName'] } },
    });
  });

  test('the execute-api endpoint is off (one public host for every URL fhirgate hands out)', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
  });
});

describe('every public URL is on the domain', () => {
  test('the authorizer trusts exchanged tokens issued at https://{domain}/auth, keys from the domain', () => {
    // An Fn::Join (the pool id is a Ref): its literal part holds the exchange issuer whole.
    const issuers = JSON.stringify(env(s, 'authorizer')[ENV.issuers]);
    const exchange = { kind: 'fhirgate-exchange', issuer: `https://${DOMAIN}/auth`, jwksUri: `https://${DOMAIN}/auth/jwks.json`, audience: `https://${DOMAIN}/fhir` };
    expect(issuers).toContain(JSON.stringify(JSON.stringify(exchange)).slice(1, -1));
  });

  test('the token service issues for the domain: iss, aud, and the token URL client assertions name', () => {
    expect(env(s, 'tokenService')).toMatchObject({
      [EXCHANGE_ENV.issuer]: `https://${DOMAIN}/auth`,
      [EXCHANGE_ENV.audience]: `https://${DOMAIN}/fhir`,
      [EXCHANGE_ENV.tokenUrl]: `https://${DOMAIN}/auth/token`,
    });
  });

  test('the proxy writes links and its CapabilityStatement on the domain, and advertises the domain in discovery', () => {
    expect(env(s, 'proxy')[PROXY_ENV.publicBaseUrl]).toBe(`https://${DOMAIN}/fhir`);
    const discovery = JSON.stringify(s.stack.resolve(env(s, 'proxy')[PROXY_ENV.discovery]));
    for (const url of [`https://${DOMAIN}/auth`, `https://${DOMAIN}/auth/token`, `https://${DOMAIN}/auth/jwks.json`]) expect(discovery).toContain(`\\"${url}\\"`);
  });

  test('outputs: the FHIR base, discovery, token and JWKS URLs on the domain, and where to point its DNS', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.FhirBaseUrl!.Value).toBe(`https://${DOMAIN}/fhir`);
    expect(outputs.SmartConfigurationUrl!.Value).toBe(`https://${DOMAIN}/fhir/.well-known/smart-configuration`);
    expect(outputs.TokenExchangeUrl!.Value).toBe(`https://${DOMAIN}/auth/token`);
    expect(outputs.JwksUrl!.Value).toBe(`https://${DOMAIN}/auth/jwks.json`);
    expect(outputs.CustomDomainTarget!.Value).toEqual({ 'Fn::GetAtt': [id(s, s.stack.api.customDomain!.domain.node.defaultChild), 'RegionalDomainName'] });
  });

  test('no function and no output names the execute-api host', () => {
    expect(published(s)).not.toContain('.execute-api.');
    expect(Object.keys(s.template.toJSON().Outputs).filter((k) => k.startsWith('ApiRestApiEndpoint'))).toEqual([]);
    expect(published(plain)).toContain('.execute-api.'); // the check can see one
  });

  test('SMART App Launch on the domain: the broker client\'s only Cognito callback and the authorize URL', () => {
    const broker = s.template.toJSON().Resources[id(s, s.stack.identity.brokerClient!.node.defaultChild)].Properties;
    // Cognito redirects only to a registered URL; the token service sends `${issuer}/callback`.
    expect(broker.CallbackURLs).toEqual([`https://${DOMAIN}/auth/callback`]);
    expect(s.template.toJSON().Outputs.AuthorizeUrl.Value).toBe(`https://${DOMAIN}/auth/authorize`);
  });

  test('why the proxy needs the base configured: behind the domain the request says {domain}/{stage}', () => {
    const event = { requestContext: { domainName: DOMAIN, stage: 'prod' } } as APIGatewayProxyEvent;
    expect(publicBaseFromEvent(event, undefined)).toBe(`https://${DOMAIN}/prod/fhir`); // not a URL the domain serves
    expect(publicBaseFromEvent(event, env(s, 'proxy')[PROXY_ENV.publicBaseUrl] as string)).toBe(`https://${DOMAIN}/fhir`);
  });
});

test('cdk-nag: nothing unacknowledged with a custom domain', () => {
  expect(nagViolations(s.app)).toEqual([]);
});

describe('without a custom domain nothing of it exists', () => {
  test('no domain name, mapping or record; the execute-api endpoint stays on; URLs on execute-api', () => {
    for (const type of ['AWS::ApiGateway::DomainName', 'AWS::ApiGateway::BasePathMapping', 'AWS::Route53::RecordSet']) plain.template.resourceCountIs(type, 0);
    plain.template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: Match.absent() });
    expect(plain.stack.api.customDomain).toBeUndefined();
    expect(env(plain, 'proxy')[PROXY_ENV.publicBaseUrl]).toBeUndefined();
    expect(Object.keys(plain.template.toJSON().Outputs)).not.toContain('CustomDomainTarget');
    expect(JSON.stringify(plain.template.toJSON().Outputs.FhirBaseUrl.Value)).toContain('.execute-api.');
  });

  test('the API itself still gets the enhanced TLS policy (a regional API defaults to TLS_1_0)', () => {
    plain.template.hasResourceProperties('AWS::ApiGateway::RestApi', { SecurityPolicy: 'SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09', EndpointAccessMode: 'STRICT' });
  });
});

test('-c disableExecuteApiEndpoint=false keeps the execute-api endpoint beside the domain; -c tlsSecurityPolicy picks TLS 1.3 only', () => {
  const both = synthesize({ stackName: 'FhirgateBoth', customDomainName: DOMAIN, customDomainCertificateArn: CERTIFICATE, disableExecuteApiEndpoint: 'false', tlsSecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09' });
  both.template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: false, SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09' });
  both.template.hasResourceProperties('AWS::ApiGateway::DomainName', { SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09' });
  both.template.resourceCountIs('AWS::Route53::RecordSet', 0); // no hosted zone given: the operator points DNS at CustomDomainTarget
});
