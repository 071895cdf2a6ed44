/**
 * SMART App Launch as `cdk deploy` creates it (on by default): the broker app client and its one
 * callback URL, the broker secret (Secrets Manager, read through the Parameters and Secrets
 * extension, never in the template or an environment), the two app tables and exactly the calls
 * the token service makes on them, the browser routes and their throttles, a WAF that lets the
 * browser flow through, discovery built from the synthesized environment, first-party apps
 * registered by a custom resource, the props that refuse a bad app, and no dependency cycle.
 *
 * The synthesized environment is rendered with each Ref and GetAtt replaced by a plausible
 * physical value, then read by the handlers' own config functions: what the Lambdas would read.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { configFromEnv as authorizerConfigFromEnv, ENV } from '../../functions/adapters/authz-config';
import { AppClient, checkAppClient } from '../../functions/core/app-launch';
import { proxyConfigFromEnv, PROXY_ENV } from '../../functions/fhir-proxy/config';
import { smartConfiguration } from '../../functions/fhir-proxy/discovery';
import { APP_LAUNCH_ENV, appLaunchConfigFromEnv } from '../../functions/token-exchange/app-launch-config';
import { appFromItem, DynamoAppRegistry } from '../../functions/token-exchange/app-registry';
import { appTableDefinitions, APPS_TABLE, LAUNCH_TABLE } from '../../functions/token-exchange/app-tables';
import { tokenServiceConfigFromEnv } from '../../functions/token-exchange/config';
import { TOKEN_SERVICE_ROUTES } from '../../functions/token-exchange/handler';
import { DynamoLaunchStore } from '../../functions/token-exchange/launch-store';
import { STACK_OUTPUTS, targetFromOutputs } from '../../bin/cli/target';
import { APP_LAUNCH_ROUTES, DEFAULT_PUBLIC_ROUTE_THROTTLE } from '../../lib/api';
import { configFromContext } from '../../lib/context';
import { PORTAL_CLIENT_ID, PORTAL_SCOPES } from '../../lib/example-portal';
import { FhirgateStack, FhirgateStackProps, validateStackProps } from '../../lib/fhirgate-stack';
import { APP_LAUNCH_RELAXED_RULE } from '../../lib/waf';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { acknowledgements, apiMethods, cdkJson, resourcesOfType, Synthesized, synthesize } from './synth';

const PORTAL_URI = 'https://portal.example.com/';
let s: Synthesized; // every default, plus the example portal as a first-party app
let off: Synthesized; // -c appLaunch=false
beforeAll(() => {
  s = synthesize({ portalRedirectUris: PORTAL_URI });
  off = synthesize({ appLaunch: 'false', stackName: 'FhirgateNoAppLaunch' });
});

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string };
const resources = (t: Synthesized = s): Record<string, Resource> => t.template.toJSON().Resources;
const id = (element: unknown, t: Synthesized = s) => t.stack.getLogicalId(element as CfnElement);
const fnProps = (piece: 'authorizer' | 'proxy' | 'tokenService', t: Synthesized = s) => resources(t)[id(t.stack[piece].function.node.defaultChild, t)]!.Properties;
const statementsOf = (policy: CfnElement | unknown, t: Synthesized = s) =>
  resources(t)[id(policy, t)]!.Properties.PolicyDocument.Statement as { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any> }[];
const actions = (st: { Action: string | string[] }) => [st.Action].flat().sort();
const tables = () => s.stack.appLaunch!.tables;
const broker = () => s.stack.identity.brokerClient!;
/** An app with cdk.json's feature flags, without bundling (for stacks built from props, not context). */
const flaggedApp = () => new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });

// ---- Rendering the synthesized template as CloudFormation would resolve it ----------------------

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PSEUDO: Record<string, string> = { 'AWS::Region': REGION, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT };

/** A plausible physical id for `Ref` of a resource of this type. */
function physicalId(logicalId: string, type: string): string {
  switch (type) {
    case 'AWS::Cognito::UserPool':
      return `${REGION}_TestPool1`;
    case 'AWS::Cognito::UserPoolClient':
      return `client${logicalId.toLowerCase().slice(0, 20)}`;
    case 'AWS::Cognito::UserPoolDomain':
      return `fhirgate-${ACCOUNT}`;
    case 'AWS::ApiGateway::RestApi':
      return 'a1b2c3d4e5';
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${logicalId}-AbCdEf`;
    default:
      // CloudFormation's generated names: stack, logical id, a random suffix.
      return `Fhirgate-${logicalId}-1A2B3C4D5E6F7`;
  }
}

/** Render an intrinsic-bearing value to the string CloudFormation would give the Lambda. */
function render(value: unknown, t: Synthesized = s): string {
  const all = resources(t);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, any>;
  if ('Fn::Join' in v) return (v['Fn::Join'][1] as unknown[]).map((part) => render(part, t)).join(v['Fn::Join'][0]);
  if ('Ref' in v) return PSEUDO[v.Ref] ?? physicalId(v.Ref, all[v.Ref]?.Type ?? '');
  if ('Fn::GetAtt' in v) {
    const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
    const type = all[logicalId]?.Type ?? '';
    if (attribute === 'Arn' && type === 'AWS::KMS::Key') return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
    if (attribute === 'Arn' && type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physicalId(logicalId, type)}`;
    if (attribute === 'DatastoreEndpoint') return `https://healthlake.${REGION}.amazonaws.com/datastore/${logicalId}/r4/`;
    return `${logicalId}.${attribute}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value).slice(0, 200)}`);
}

const environment = (piece: 'authorizer' | 'proxy' | 'tokenService', t: Synthesized = s): Record<string, string> =>
  Object.fromEntries(Object.entries(fnProps(piece, t).Environment.Variables as Record<string, unknown>).map(([k, v]) => [k, render(v, t)]));

const API = `https://${physicalId('', 'AWS::ApiGateway::RestApi')}.execute-api.${REGION}.amazonaws.com/prod`;

// ---- 1. The broker app client --------------------------------------------------------------------

describe('the broker app client (lib/identity.ts addBrokerClient)', () => {
  const client = () => resources()[id(broker().node.defaultChild)]!.Properties;

  test('confidential, authorization code only, openid only, a generated secret, Cognito sign-in only', () => {
    expect(client()).toMatchObject({
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid'],
      SupportedIdentityProviders: ['COGNITO'],
      EnableTokenRevocation: true,
      PreventUserExistenceErrors: 'ENABLED',
      // Redeemed once at the callback and dropped: Cognito's shortest lifetimes.
      AccessTokenValidity: 5,
      IdTokenValidity: 5,
      RefreshTokenValidity: 60,
    });
  });

  test('its ONLY callback URL is fhirgate\'s /auth/callback, the very redirect_uri the token service sends (issuer + /callback)', () => {
    const callbacks = (client().CallbackURLs as unknown[]).map((u) => render(u));
    expect(callbacks).toEqual([`${API}/auth/callback`]);
    // functions/token-exchange/index.ts: `${issuer}${TOKEN_SERVICE_ROUTES.callback minus '/auth'}`, issuer from the environment.
    const issuer = tokenServiceConfigFromEnv(environment('tokenService')).policy.issuer;
    expect(callbacks[0]).toBe(`${issuer}${TOKEN_SERVICE_ROUTES.callback.slice('/auth'.length)}`);
    // Built from the REST API id and the stage NAME: no reference to the stage or the deployment.
    expect(JSON.stringify(client().CallbackURLs)).not.toMatch(/Deployment|Stage/);
  });

  test('managed login (v2) on the pool domain shows it a page: a branding style for the broker', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2 });
    s.template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', { ClientId: { Ref: id(broker().node.defaultChild) }, UseCognitoProvidedValues: true });
    // The token service sends the browser to that domain.
    expect(environment('tokenService')[APP_LAUNCH_ENV.cognitoDomain]).toBe(`https://fhirgate-${ACCOUNT}.auth.${REGION}.amazoncognito.com`);
    expect(environment('tokenService')[APP_LAUNCH_ENV.brokerClientId]).toBe(render({ Ref: id(broker().node.defaultChild) }));
  });

  describe('broker tokens are for the sign-in check only, never FHIR callers', () => {
    let cognito: TestIssuer;
    beforeAll(async () => {
      cognito = await startTestIssuer('/eu-west-1_TestPool1');
    });
    afterAll(() => cognito.close());

    test('neither the authorizer\'s allow-lists nor the exchange\'s name the broker; a verifier built from them refuses its token', async () => {
      const brokerId = render({ Ref: id(broker().node.defaultChild) });
      const webId = render({ Ref: id(s.stack.identity.webClient.node.defaultChild) });
      for (const piece of ['authorizer', 'tokenService'] as const) {
        const { clients } = authorizerConfigFromEnv(environment(piece));
        expect({ piece, user: clients.userClientIds, machine: clients.machineClientIds }).toEqual({ piece, user: [webId], machine: expect.not.arrayContaining([brokerId]) });
        // The verifier both functions build from those lists (authorizer/wire.ts, token-exchange/wire.ts).
        const verifier = createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: [...clients.userClientIds, ...clients.machineClientIds] });
        const token = (clientId: string) => cognito.token({ sub: 'u-alice', username: 'alice', token_use: 'access', client_id: clientId, scope: 'openid' });
        await expect(verifier.verify(token(brokerId))).rejects.toThrow(/Client ID not allowed/);
        await expect(verifier.verify(token(webId))).resolves.toMatchObject({ client_id: webId });
      }
    });
  });
});

// ---- 2. The broker secret ------------------------------------------------------------------------

describe('the broker secret: Secrets Manager, a CMK, read through the extension', () => {
  test('the secret is CloudFormation\'s copy of the client\'s ClientSecret attribute, encrypted with the App Launch key; no custom resource reads it', () => {
    const secrets = resourcesOfType(s.template, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    expect(secrets[0]![1]).toMatchObject({
      SecretString: { 'Fn::GetAtt': [id(broker().node.defaultChild), 'ClientSecret'] },
      KmsKeyId: { 'Fn::GetAtt': [id(tables().key.node.defaultChild), 'Arn'] },
    });
    // CDK's userPoolClientSecret would add an AwsCustomResource calling DescribeUserPoolClient.
    expect(resourcesOfType(s.template, 'Custom::DescribeCognitoUserPoolClient')).toHaveLength(0);
    expect(JSON.stringify(s.template.toJSON())).not.toContain('DescribeUserPoolClient');
  });

  test('the token service\'s environment names the secret (its ARN), never holds it', () => {
    const env = fnProps('tokenService').Environment.Variables;
    expect(env[APP_LAUNCH_ENV.brokerSecretId]).toEqual({ Ref: id(s.stack.appLaunch!.brokerSecret.node.defaultChild) });
    expect(env).not.toHaveProperty(APP_LAUNCH_ENV.brokerClientSecret);
    for (const piece of ['authorizer', 'proxy', 'tokenService'] as const) expect(JSON.stringify(fnProps(piece).Environment)).not.toContain('ClientSecret');
    // …and the function reads it that way: the config the handler builds at cold start.
    const config = appLaunchConfigFromEnv(environment('tokenService'))!;
    expect(config.brokerSecret).toEqual({ secretId: render({ Ref: id(s.stack.appLaunch!.brokerSecret.node.defaultChild) }) });
  });

  test('the Parameters and Secrets extension layer (arm64), on the port the function calls (2773)', () => {
    const props = fnProps('tokenService');
    expect(props.Layers).toEqual([{ 'Fn::FindInMap': [expect.any(String), { Ref: 'AWS::Region' }, expect.stringMatching(/arm64$/)] }]);
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Environment.Variables).toMatchObject({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773', PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'true', SECRETS_MANAGER_TTL: '300' });
    // The other functions read no secret: no layer.
    expect(fnProps('authorizer').Layers).toBeUndefined();
    expect(fnProps('proxy').Layers).toBeUndefined();
  });

  test('GetSecretValue on that one secret, Decrypt of its key only through Secrets Manager; no other function touches it', () => {
    const st = statementsOf(s.stack.tokenService.function.policy.node.defaultChild);
    const read = st.find((x) => x.Sid === 'ReadBrokerSecret')!;
    expect(read).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: id(s.stack.appLaunch!.brokerSecret.node.defaultChild) } });
    const decrypt = st.find((x) => x.Sid === 'DecryptBrokerSecret')!;
    expect(decrypt).toMatchObject({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [id(tables().key.node.defaultChild), 'Arn'] } });
    expect(render(decrypt.Condition!.StringEquals['kms:ViaService'])).toBe(`secretsmanager.${REGION}.amazonaws.com`);
    expect(st.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
    for (const piece of ['authorizer', 'proxy'] as const) expect(JSON.stringify(statementsOf(s.stack[piece].function.policy.node.defaultChild))).not.toMatch(/secretsmanager|BrokerSecret/);
  });

  test('rotation (SMG4 and its HIPAA twin) is acknowledged with the Cognito rotation story, on the secret', () => {
    const acks = acknowledgements(s.app).filter((a) => a.path === s.stack.appLaunch!.brokerSecret.node.path);
    expect(acks.map((a) => a.rule).sort()).toEqual(['AwsSolutions-SMG4', 'HIPAA.Security-SecretsManagerRotationEnabled']);
    for (const a of acks) expect(a.reason).toMatch(/AddUserPoolClientSecret/);
  });
});

// ---- 3. The tables and exactly the calls made on them --------------------------------------------

describe('the app registry and the launch state', () => {
  test('keys from appTableDefinitions, CMK encryption, TTL on expiresAt for launch state', () => {
    const [apps, launch] = appTableDefinitions({ apps: 'a', launch: 'l' });
    const keyArn = { 'Fn::GetAtt': [id(tables().key.node.defaultChild), 'Arn'] };
    const registry = resources()[id(tables().apps.node.defaultChild)]!;
    const state = resources()[id(tables().launch.node.defaultChild)]!;
    expect(registry.Properties).toMatchObject({
      KeySchema: apps!.KeySchema,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(registry.DeletionPolicy).toBe('Retain');
    expect(state.Properties).toMatchObject({
      KeySchema: launch!.KeySchema,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
      TimeToLiveSpecification: { AttributeName: LAUNCH_TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
    expect(state.DeletionPolicy).toBe('Delete');
    s.template.hasResourceProperties('AWS::KMS::Key', { Description: Match.stringLikeRegexp('SMART App Launch'), EnableKeyRotation: true });
  });

  test('the token service may make exactly the calls its stores make: GetItem on the registry; Get/Put/Update/DeleteItem on the launch state', async () => {
    const st = statementsOf(s.stack.tokenService.function.policy.node.defaultChild);
    const on = (table: CfnElement | unknown) => st.filter((x) => JSON.stringify(x.Resource) === JSON.stringify({ 'Fn::GetAtt': [id(table), 'Arn'] })).flatMap(actions).sort();
    const granted = { apps: on(tables().apps.node.defaultChild), launch: on(tables().launch.node.defaultChild) };
    expect(granted).toEqual({ apps: ['dynamodb:GetItem'], launch: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] });

    // The calls the token service's stores really make, recorded at the SDK boundary: each is granted, and each grant is used.
    const used = { apps: new Set<string>(), launch: new Set<string>() };
    const record: Record<string, AttributeValue> = { pk: { S: 'x' }, record: { S: JSON.stringify({ exp: 9e9 }) }, revoked: { BOOL: true } };
    const client = {
      send: async (command: { constructor: { name: string }; input: { TableName: string } }) => {
        used[command.input.TableName as 'apps' | 'launch'].add(`dynamodb:${command.constructor.name.replace(/Command$/, '')}`);
        return { Item: record, Attributes: record };
      },
    } as unknown as DynamoDBClient;
    await new DynamoAppRegistry(client, 'apps').find('some-app');
    const store = new DynamoLaunchStore(client, 'launch');
    const code = { exp: 9e9 } as never;
    await store.putSession('s', { request: {} as never, exp: 9e9 });
    await store.getSession('s', 0);
    await store.deleteSession('s');
    await store.putCode('h', code);
    await store.redeemCode('h');
    await store.putRefresh('h', code);
    await store.redeemRefresh('h');
    await store.revokeFamily('f', 9e9);
    await store.familyRevoked('f');
    expect({ apps: [...used.apps].sort(), launch: [...used.launch].sort() }).toEqual(granted);
  });

  test('the Decrypt for the tables is limited to DynamoDB calls; the authorizer and the proxy get nothing on either table', () => {
    const st = statementsOf(s.stack.tokenService.function.policy.node.defaultChild);
    expect(render(st.find((x) => x.Sid === 'DecryptAppLaunchTables')!.Condition!.StringEquals['kms:ViaService'])).toBe(`dynamodb.${REGION}.amazonaws.com`);
    // functions/authorizer never reads the app registry: an App Launch access token carries its client and scopes.
    for (const piece of ['authorizer', 'proxy'] as const) {
      const text = JSON.stringify(statementsOf(s.stack[piece].function.policy.node.defaultChild));
      for (const table of [tables().apps, tables().launch, tables().key]) expect(text).not.toContain(id(table.node.defaultChild));
    }
  });
});

// ---- 4. Routes, throttles, WAF -------------------------------------------------------------------

describe('the browser routes', () => {
  test('GET /auth/authorize, GET /auth/callback, POST /auth/picker, GET /auth/.well-known/openid-configuration: public, to the token service', () => {
    const tokenService = id(s.stack.tokenService.function.node.defaultChild);
    const launchRoutes = apiMethods(s.template).filter((m) => /^\/auth\/(authorize|callback|picker|\.well-known\/openid-configuration)$/.test(m.path));
    expect(launchRoutes.map((m) => `${m.verb} ${m.path}`).sort()).toEqual(
      [`GET ${TOKEN_SERVICE_ROUTES.authorize}`, `GET ${TOKEN_SERVICE_ROUTES.callback}`, `GET ${TOKEN_SERVICE_ROUTES.openidConfiguration}`, `POST ${TOKEN_SERVICE_ROUTES.picker}`].sort(),
    );
    for (const m of launchRoutes) expect({ path: m.path, auth: m.auth, authorizer: m.authorizer, toTokenService: m.target.includes(tokenService) }).toEqual({ path: m.path, auth: 'NONE', authorizer: undefined, toTokenService: true });
  });

  test('each has its own throttle below the stage rate', () => {
    const settings = resourcesOfType(s.template, 'AWS::ApiGateway::Stage')[0]![1].MethodSettings as Record<string, unknown>[];
    for (const route of APP_LAUNCH_ROUTES) {
      const method = route.slice(route.lastIndexOf('/') + 1);
      const path = `/${route.slice(0, route.lastIndexOf('/')).replace(/\//g, '~1')}`;
      const t = DEFAULT_PUBLIC_ROUTE_THROTTLE[route];
      expect(settings).toContainEqual(expect.objectContaining({ HttpMethod: method, ResourcePath: path, ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit }));
    }
  });

  test('their nag acknowledgements say why a browser reaches them without a token', () => {
    const acks = acknowledgements(s.app).filter((a) => /\/auth\/(authorize|callback|picker)\//.test(`${a.path}/`));
    expect(acks.map((a) => a.rule).sort()).toEqual(['AwsSolutions-APIG4', 'AwsSolutions-APIG4', 'AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-COG4', 'AwsSolutions-COG4']);
    for (const a of acks) expect(a.reason).toMatch(/SMART App Launch/);
  });

  test('WAF: the RFI rule is counted in the Core rule set and re-blocked by its label everywhere but …/auth/authorize', () => {
    const rules = resourcesOfType(s.template, 'AWS::WAFv2::WebACL')[0]![1].Rules as { Name: string; Priority: number; Action?: unknown; Statement: any }[];
    const common = rules.find((r) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet')!;
    expect(common.Statement.ManagedRuleGroupStatement.RuleActionOverrides).toContainEqual({ Name: APP_LAUNCH_RELAXED_RULE.name, ActionToUse: { Count: {} } });
    const relabel = rules.find((r) => r.Name === 'rfi-query-except-authorize')!;
    expect(relabel.Priority).toBeGreaterThan(common.Priority); // labels exist only after the group ran
    expect(relabel.Action).toEqual({ Block: {} });
    expect(relabel.Statement.AndStatement.Statements).toEqual([
      { LabelMatchStatement: { Scope: 'LABEL', Key: APP_LAUNCH_RELAXED_RULE.label } },
      { NotStatement: { Statement: { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'ENDS_WITH', SearchString: TOKEN_SERVICE_ROUTES.authorize, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } } } },
    ]);
  });

  test('WAF: the portal\'s authorize request (fhirclient, every scope it may ask) is far below the Core rule set\'s 2 KB query limit', () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: PORTAL_CLIENT_ID,
      scope: PORTAL_SCOPES.join(' '),
      redirect_uri: PORTAL_URI,
      aud: `${API}/fhir`,
      state: 'x'.repeat(32),
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    expect(query.length).toBeLessThan(1024);
  });
});

// ---- 5. Discovery, from the synthesized environment ----------------------------------------------

describe('discovery advertises App Launch, from the environment the functions read', () => {
  test('the proxy\'s SMART configuration: authorization endpoint, code + PKCE S256, refresh, public clients, the App Launch capabilities', () => {
    const config = proxyConfigFromEnv(environment('proxy'));
    const smart = smartConfiguration(config.discovery) as Record<string, any>;
    expect(smart).toMatchObject({
      issuer: `${API}/auth`,
      authorization_endpoint: `${API}/auth/authorize`,
      token_endpoint: `${API}/auth/token`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['none']),
    });
    expect(smart.capabilities).toEqual(
      expect.arrayContaining(['launch-standalone', 'client-public', 'context-standalone-patient', 'sso-openid-connect', 'permission-offline', 'permission-online', 'permission-v2', 'permission-patient']),
    );
    expect(smart.scopes_supported).toEqual(expect.arrayContaining(['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs']));
    // The endpoint advertised is the route deployed.
    expect(apiMethods(s.template).some((m) => m.verb === 'GET' && m.path === new URL(smart.authorization_endpoint).pathname.replace(/^\/prod/, ''))).toBe(true);
  });

  test('the token service finds every App Launch variable (its metadata then names the same endpoint: test/token-exchange/index.test.ts)', () => {
    const env = environment('tokenService');
    const launch = appLaunchConfigFromEnv(env)!;
    expect(launch).toMatchObject({ appsTable: render({ Ref: id(tables().apps.node.defaultChild) }), launchTable: render({ Ref: id(tables().launch.node.defaultChild) }) });
    expect(launch.policy.roleScopes.patient).toEqual(['patient/*.rs']); // read-only by default
    expect(`${tokenServiceConfigFromEnv(env).policy.issuer}/authorize`).toBe(smartConfiguration(proxyConfigFromEnv(environment('proxy')).discovery).authorization_endpoint);
  });

  test('-c appLaunch=false: no broker, tables, secret, routes, layer or variables, and discovery advertises no launch capability', () => {
    expect(off.stack.appLaunch).toBeUndefined();
    expect(off.stack.identity.brokerClient).toBeUndefined();
    expect(resourcesOfType(off.template, 'AWS::SecretsManager::Secret')).toHaveLength(0);
    expect(resourcesOfType(off.template, 'AWS::DynamoDB::Table')).toHaveLength(3); // links, client registry, replay
    expect(apiMethods(off.template).filter((m) => /authorize|callback|picker|openid/.test(m.path))).toEqual([]);
    const settings = resourcesOfType(off.template, 'AWS::ApiGateway::Stage')[0]![1].MethodSettings as { ResourcePath: string }[];
    expect(settings.map((m) => m.ResourcePath).filter((p) => /authorize|callback|picker/.test(p))).toEqual([]);
    expect(fnProps('tokenService', off).Layers).toBeUndefined();
    expect(Object.keys(fnProps('tokenService', off).Environment.Variables).filter((k) => (Object.values(APP_LAUNCH_ENV) as string[]).includes(k))).toEqual([]);
    expect(appLaunchConfigFromEnv(environment('tokenService', off))).toBeUndefined();
    const smart = smartConfiguration(proxyConfigFromEnv(environment('proxy', off)).discovery) as Record<string, any>;
    expect(smart).not.toHaveProperty('authorization_endpoint');
    for (const c of ['launch-standalone', 'client-public', 'context-standalone-patient', 'sso-openid-connect', 'permission-offline']) expect(smart.capabilities).not.toContain(c);
    expect(smart.scopes_supported).not.toContain('offline_access');
    const rules = JSON.stringify(resourcesOfType(off.template, 'AWS::WAFv2::WebACL')[0]![1].Rules);
    expect(rules).not.toContain(APP_LAUNCH_RELAXED_RULE.name);
  });
});

// ---- 6. First-party apps -------------------------------------------------------------------------

describe('first-party apps registered by the stack', () => {
  const registrations = (t: Synthesized = s) => resourcesOfType(t.template, 'Custom::FhirgateFirstPartyApp');
  const call = (json: unknown, t: Synthesized = s) => JSON.parse(render(json, t)) as { service: string; action: string; parameters: Record<string, any>; physicalResourceId?: { id: string } };

  test('-c portalRedirectUris registers the example portal: PutItem of the item the token service reads, on create and update', () => {
    const [[, props]] = registrations() as [[string, Record<string, any>]];
    const put = call(props.Create);
    expect(call(props.Update)).toEqual(put);
    expect(put).toMatchObject({ service: 'DynamoDB', action: 'PutItem', physicalResourceId: { id: PORTAL_CLIENT_ID } });
    expect(put.parameters.TableName).toBe(render({ Ref: id(tables().apps.node.defaultChild) }));
    // What DynamoAppRegistry.find will return for it (the same checks as `fhirgate apps register`).
    const expected: AppClient = { clientId: PORTAL_CLIENT_ID, name: 'Patient portal (example)', status: 'active', redirectUris: [PORTAL_URI], scopes: [...PORTAL_SCOPES] };
    expect(appFromItem(put.parameters.Item)).toEqual(expected);
    expect(props.InstallLatestAwsSdk).toBe(false);
  });

  test('removed from the stack: revoked (status), not deleted — like `fhirgate apps revoke`', () => {
    const [[, props]] = registrations() as [[string, Record<string, any>]];
    const del = call(props.Delete);
    expect(del).toMatchObject({ service: 'DynamoDB', action: 'UpdateItem' });
    expect(del.parameters).toEqual({
      TableName: render({ Ref: id(tables().apps.node.defaultChild) }),
      Key: { [APPS_TABLE.partitionKey]: { S: PORTAL_CLIENT_ID } },
      UpdateExpression: 'SET #status = :revoked',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':revoked': { S: 'revoked' } },
    });
  });

  test('the function: traced, its own encrypted log group, one managed policy (no inline policy), PutItem/UpdateItem on the registry only', () => {
    const apps = s.stack.appLaunch!.firstPartyApps!;
    const fn = resources()[id(apps.function.node.defaultChild)]!;
    expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.DependsOn).toContain(id(apps.policy.node.defaultChild));
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [id(apps.role.node.defaultChild), 'Arn'] });
    const logGroup = resources()[fn.Properties.LoggingConfig.LogGroup.Ref]!.Properties;
    expect(logGroup).toMatchObject({ KmsKeyId: expect.anything(), RetentionInDays: 2192 });
    const roleId = id(apps.role.node.defaultChild);
    expect(resourcesOfType(s.template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Roles).includes(roleId))).toEqual([]);
    expect(resources()[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    const st = statementsOf(apps.policy.node.defaultChild);
    const data = st.filter((x) => actions(x).some((a) => a.startsWith('dynamodb:')));
    expect(data).toEqual([{ Sid: 'RegisterFirstPartyApps', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [id(tables().apps.node.defaultChild), 'Arn'] } }]);
    expect(render(st.find((x) => x.Sid === 'DecryptAppRegistry')!.Condition!.StringEquals['kms:ViaService'])).toBe(`dynamodb.${REGION}.amazonaws.com`);
    // Each registration waits for the policy (create) and goes before it (delete: the revoke still has its permission).
    for (const [logicalId] of registrations()) expect(resources()[logicalId]!.DependsOn).toContain(id(apps.policy.node.defaultChild));
  });

  test('outputs: PortalClientId (examples/patient-portal/build.ts reads it), the client ids, the authorize URL, the apps table the CLI reads', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.PortalClientId!.Value).toBe(PORTAL_CLIENT_ID);
    expect(outputs.FirstPartyAppClientIds!.Value).toBe(PORTAL_CLIENT_ID);
    expect(render(outputs.AuthorizeUrl!.Value)).toBe(`${API}/auth/authorize`);
    expect(outputs[STACK_OUTPUTS.appsTable]!.Value).toEqual({ Ref: id(tables().apps.node.defaultChild) });
    expect(outputs.BrokerSecretArn!.Value).toEqual({ Ref: id(s.stack.appLaunch!.brokerSecret.node.defaultChild) });
    // `fhirgate --stack … apps list` finds the registry from these outputs.
    const rendered = Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, render(o.Value)]));
    const target = targetFromOutputs('Fhirgate', REGION, ACCOUNT, rendered);
    try {
      expect(target.appsTable).toBe(render({ Ref: id(tables().apps.node.defaultChild) }));
    } finally {
      target.close();
    }
    // Without first-party apps: no PortalClientId; without App Launch: no App Launch output at all.
    const plain = synthesize({ stackName: 'FhirgateNoApps' });
    expect(Object.keys(plain.template.toJSON().Outputs)).not.toContain('PortalClientId');
    expect(Object.keys(plain.template.toJSON().Outputs)).toContain(STACK_OUTPUTS.appsTable);
    for (const name of ['PortalClientId', 'AuthorizeUrl', STACK_OUTPUTS.appsTable, 'BrokerClientId', 'BrokerSecretArn']) expect(Object.keys(off.template.toJSON().Outputs)).not.toContain(name);
  });

  test('each registration is keyed by its client id: reordering the apps changes no logical id', () => {
    const apps = (order: string[]): FhirgateStackProps => ({
      appLaunch: { firstPartyApps: order.map((clientId) => ({ clientId, name: clientId, redirectUris: [`https://${clientId}.example.com/`], scopes: ['launch/patient', 'patient/*.rs'] })) },
    });
    const logicalIds = (order: string[]) => {
      const stack = new FhirgateStack(flaggedApp(), 'Order', apps(order));
      return stack.appLaunch!.firstPartyApps!.node.children.filter((c) => c.node.id.includes('-app')).map((c) => `${c.node.id}:${stack.getLogicalId(c.node.findChild('Resource').node.defaultChild as CfnElement)}`).sort();
    };
    expect(logicalIds(['growth-app', 'diary-app'])).toEqual(logicalIds(['diary-app', 'growth-app']));
  });
});

// ---- 7. Props ------------------------------------------------------------------------------------

describe('validateStackProps: appLaunch', () => {
  const app = (over: Record<string, unknown> = {}) => ({ clientId: 'my-app', name: 'My app', redirectUris: ['https://app.example.com/cb'], scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'], ...over });
  test.each<[string, FhirgateStackProps, RegExp]>([
    ['an http redirect URI that is not loopback', { appLaunch: { firstPartyApps: [app({ redirectUris: ['http://app.example.com/cb'] })] } }, /appLaunch\.firstPartyApps\[0\] \(my-app\): redirect URI http:\/\/app\.example\.com\/cb must be https/],
    ['a redirect URI with a fragment', { appLaunch: { firstPartyApps: [app({ redirectUris: ['https://app.example.com/#cb'] })] } }, /firstPartyApps\[0\] \(my-app\): .*fragment/],
    ['no redirect URI', { appLaunch: { firstPartyApps: [app({ redirectUris: [] })] } }, /firstPartyApps\[0\] \(my-app\): at least one redirect URI/],
    ['a user/ scope', { appLaunch: { firstPartyApps: [app({ scopes: ['user/*.rs', 'patient/*.rs'] })] } }, /firstPartyApps\[0\] \(my-app\): an app may be allowed only .* not user\/\*\.rs/],
    ['a system/ scope', { appLaunch: { firstPartyApps: [app({ scopes: ['system/*.rs', 'patient/*.rs'] })] } }, /not system\/\*\.rs/],
    ['EHR launch (not offered)', { appLaunch: { firstPartyApps: [app({ scopes: ['launch', 'patient/*.rs'] })] } }, /not launch/],
    ['no patient/ scope', { appLaunch: { firstPartyApps: [app({ scopes: ['openid', 'fhirUser'] })] } }, /needs at least one patient\/ scope/],
    ['a malformed scope', { appLaunch: { firstPartyApps: [app({ scopes: ['patient/*.xyz'] })] } }, /firstPartyApps\[0\] \(my-app\): scope patient\/\*\.xyz/],
    ['a client id with a space', { appLaunch: { firstPartyApps: [app({ clientId: 'my app' })] } }, /firstPartyApps\[0\] \(my app\): client id/],
    ['an empty name', { appLaunch: { firstPartyApps: [app({ name: '' })] } }, /firstPartyApps\[0\] \(my-app\): name must be 1-100 characters/],
    ['markup in the name (shown on the picker)', { appLaunch: { firstPartyApps: [app({ name: '<b>x</b>' })] } }, /name must be/],
    ['a client id twice', { appLaunch: { firstPartyApps: [app(), app()] } }, /firstPartyApps\[1\] \(my-app\): client id "my-app" is listed twice/],
    ['a user/ scope granted to a role', { appLaunch: { roleScopes: { practitioner: ['user/*.rs'] } } }, /appLaunch: FHIRGATE_APP_ROLE_SCOPES: practitioner: patient\/ scopes only/],
    ['access tokens over an hour', { appLaunch: { accessTokenSeconds: 7200 } }, /appLaunch: FHIRGATE_APP_ACCESS_TOKEN_SECONDS must be 60\.\.3600/],
    ['first-party apps with App Launch off', { appLaunch: { enabled: false, firstPartyApps: [app()] } }, /appLaunch\.firstPartyApps is set but appLaunch\.enabled is false/],
    ['a throttle for a route that App Launch off does not have', { appLaunch: { enabled: false }, publicRouteThrottle: { '/auth/authorize/GET': { rateLimit: 1, burstLimit: 1 } } }, /publicRouteThrottle\[\/auth\/authorize\/GET\]/],
  ])('refuses %s, naming the prop, before creating anything', (_name, props, message) => {
    expect(() => validateStackProps(props)).toThrow(message);
    const app = new App();
    expect(() => new FhirgateStack(app, 'Invalid', props)).toThrow(TypeError);
    expect(app.node.findAll().length).toBe(1);
  });

  test('accepts loopback redirect URIs for development, and write scopes a deployment grants patients', () => {
    expect(() => validateStackProps({ appLaunch: { firstPartyApps: [app({ redirectUris: ['http://localhost:5173/', 'http://127.0.0.1:5173/'] })], roleScopes: { patient: ['patient/*.rs', 'patient/Observation.c'] } } })).not.toThrow();
    // The rule is the token service's own: what the stack registers, the registry accepts.
    expect(() => checkAppClient({ ...app(), status: 'active' })).not.toThrow();
  });

  test('the role scopes and lifetimes reach the token service as it reads them', () => {
    const stack = new FhirgateStack(flaggedApp(), 'Policy', { appLaunch: { roleScopes: { patient: ['patient/*.rs', 'patient/Observation.c'] }, accessTokenSeconds: 600, offlineSeconds: 7 * 86400 } });
    const variables = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(stack.tokenService.function.node.defaultChild as CfnElement)].Properties.Environment.Variables as Record<string, unknown>;
    const env = Object.fromEntries(Object.entries(variables).filter(([, v]) => typeof v === 'string') as [string, string][]);
    const policy = appLaunchConfigFromEnv({ ...env, [APP_LAUNCH_ENV.appsTable]: 'a', [APP_LAUNCH_ENV.launchTable]: 'l', [APP_LAUNCH_ENV.cognitoDomain]: 'https://x.example', [APP_LAUNCH_ENV.brokerClientId]: 'b', [APP_LAUNCH_ENV.brokerSecretId]: 'arn' })!.policy;
    expect(policy).toMatchObject({ accessTokenSeconds: 600, offlineSeconds: 7 * 86400, roleScopes: { patient: ['patient/*.rs', 'patient/Observation.c'], guardian: ['patient/*.rs'] } });
  });

  test('context: appLaunch=false, portalRedirectUris; both together is a mistake', () => {
    const ctx = (values: Record<string, string>) => configFromContext((k) => values[k]).props;
    expect(ctx({}).appLaunch).toEqual({ enabled: undefined });
    expect(ctx({ appLaunch: 'false' }).appLaunch).toEqual({ enabled: false });
    expect(ctx({ portalRedirectUris: 'https://a.example/, http://localhost:5173/' }).appLaunch!.firstPartyApps).toEqual([
      { clientId: PORTAL_CLIENT_ID, name: 'Patient portal (example)', redirectUris: ['https://a.example/', 'http://localhost:5173/'], scopes: PORTAL_SCOPES },
    ]);
    expect(() => ctx({ appLaunch: 'false', portalRedirectUris: 'https://a.example/' })).toThrow(/context portalRedirectUris: registers a SMART app, which needs appLaunch/);
  });
});

// ---- 8. No dependency cycle ----------------------------------------------------------------------

test('no dependency cycle (the broker client names the REST API; the functions name the client; the stage needs the functions)', () => {
  const all = resources();
  const edges = new Map<string, Set<string>>();
  const refsIn = (value: unknown, out: Set<string>): void => {
    if (Array.isArray(value)) return value.forEach((v) => refsIn(v, out));
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && all[v]) out.add(v);
      else if (k === 'Fn::GetAtt' && Array.isArray(v) && all[v[0]]) out.add(v[0]);
      else if (k === 'Fn::Sub') {
        for (const m of JSON.stringify(v).matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) if (all[m[1]!]) out.add(m[1]!);
      } else refsIn(v, out);
    }
  };
  for (const [logicalId, r] of Object.entries(all)) {
    const out = new Set<string>(r.DependsOn ?? []);
    refsIn(r.Properties, out);
    edges.set(logicalId, out);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const cycle: string[] = [];
  const visit = (node: string, path: string[]): boolean => {
    if (state.get(node) === 'done') return false;
    if (state.get(node) === 'visiting') return cycle.push(...path.slice(path.indexOf(node)), node) > 0;
    state.set(node, 'visiting');
    for (const next of edges.get(node) ?? []) if (visit(next, [...path, node])) return true;
    state.set(node, 'done');
    return false;
  };
  for (const node of edges.keys()) if (visit(node, [])) break;
  expect(cycle).toEqual([]);
  // The chain that could have closed it: client → RestApi only, never the stage or the deployment.
  const brokerEdges = [...edges.get(id(broker().node.defaultChild))!];
  expect(brokerEdges.map((e) => all[e]!.Type).sort()).toEqual(['AWS::ApiGateway::RestApi', 'AWS::Cognito::UserPool']);
  const stage = resourcesOfType(s.template, 'AWS::ApiGateway::Stage')[0]![0];
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean => from === to || [...(edges.get(from) ?? [])].some((n) => !seen.has(n) && (seen.add(n), reaches(n, to, seen)));
  expect(reaches(stage, id(broker().node.defaultChild))).toBe(true); // stage → deployment → methods → token service → broker
});

test('every function\'s environment, as Lambda will hold it, stays within Lambda\'s 4 KB for all variables together', () => {
  // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html ("Function environment variables: 4 KB")
  for (const piece of ['authorizer', 'proxy', 'tokenService'] as const) {
    const bytes = Object.entries(environment(piece)).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect({ piece, within: bytes < 4096 }).toEqual({ piece, within: true });
  }
});

test('the authorizer\'s environment is what it was (App Launch tokens are fhirgate-issued: the exchange issuer it already trusts)', () => {
  const issuers = authorizerConfigFromEnv(environment('authorizer')).issuers;
  expect(issuers).toEqual([
    { kind: 'cognito', userPoolId: `${REGION}_TestPool1` },
    { kind: 'fhirgate-exchange', issuer: `${API}/auth`, jwksUri: `${API}/auth/jwks.json`, audience: `${API}/fhir` },
  ]);
  expect(Object.keys(fnProps('authorizer').Environment.Variables)).not.toContain(PROXY_ENV.discovery);
  expect(Object.keys(fnProps('authorizer').Environment.Variables).some((k) => (Object.values(APP_LAUNCH_ENV) as string[]).includes(k))).toBe(false);
  expect(fnProps('authorizer').Environment.Variables[ENV.userClientIds]).toEqual({ Ref: id(s.stack.identity.webClient.node.defaultChild) });
});
