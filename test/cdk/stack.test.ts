/**
 * The production stack as `cdk deploy` would create it (HealthLake backend, WAF on), synthesized
 * offline once — esbuild bundling included, cdk-nag AwsSolutions + HIPAA Security run as
 * validation plugins — and checked property by property where security depends on it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { ENV } from '../../functions/adapters/authz-config';
import { PROXY_NODE_FLAGS } from '../../lib/runtime-flags';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { smartConfiguration } from '../../functions/fhir-proxy/discovery';
import { EXPORT_ENV } from '../../functions/fhir-proxy/export-config';
import { clientTableDefinitions, CLIENTS_TABLE, REPLAY_TABLE } from '../../functions/token-exchange/client-tables';
import { APP_LAUNCH_ENV } from '../../functions/token-exchange/app-launch-config';
import { EXCHANGE_ENV } from '../../functions/token-exchange/config';
import { DELEGATION_SCOPE as DEMO_DELEGATION_SCOPE } from '../../local/stack/demo-world';
import { GATEWAY_CHALLENGES } from '../../functions/common/www-authenticate';
import { BEARER_TOKEN_PATTERN } from '../../lib/api';
import { HEALTHLAKE_EXPORT_ACTIONS } from '../../lib/export-bucket';
import { BUNDLE_BUDGET_BYTES, buildFunctionBundle, FUNCTION_ENTRIES, FunctionName } from '../../lib/function-bundle';
import { healthLakeProxyActions } from '../../lib/healthlake-actions';
import { DELEGATION_SCOPE } from '../../lib/identity';
import { DEFAULT_FHIRGATE_SETTINGS } from '../../lib/settings';
import { STACK_OUTPUTS } from '../../bin/cli/target';
import { apiMethods, gatewayResponses, resourcesOfType, Synthesized, synthesize } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthesize({}, { bundle: true }); // every default: HealthLake, WAF on
});

const id = (element: unknown) => s.stack.getLogicalId(element as CfnElement);
const fnId = (piece: 'authorizer' | 'proxy' | 'tokenService') => id(s.stack[piece].function.node.defaultChild);
const fnProps = (piece: 'authorizer' | 'proxy' | 'tokenService') => s.template.toJSON().Resources[fnId(piece)].Properties;
const getAttArn = (element: unknown) => ({ 'Fn::GetAtt': [id(element), 'Arn'] });

/** A client's OAuth scopes as strings: custom scopes are `Fn::Join` of a resource server Ref (its identifier) and the name. */
const scopesOf = (clientName: string): string[] => {
  const resources = s.template.toJSON().Resources;
  const client = resourcesOfType(s.template, 'AWS::Cognito::UserPoolClient').find(([, p]) => p.ClientName === clientName)![1];
  return client.AllowedOAuthScopes.map((scope: unknown) => {
    if (typeof scope === 'string') return scope;
    const [sep, parts] = (scope as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.map((part) => (typeof part === 'string' ? part : resources[(part as { Ref: string }).Ref].Properties.Identifier)).join(sep);
  });
};

describe('Cognito', () => {
  test('user pool: strong passwords, optional TOTP MFA, invite-only, the ESSENTIALS plan (managed login v2), deletion protection', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true },
      },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UserPoolTier: 'ESSENTIALS',
      DeletionProtection: 'ACTIVE',
    });
    s.template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Retain' });
  });

  test('one group per role', () => {
    for (const group of ['patient', 'guardian', 'practitioner']) s.template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    s.template.resourceCountIs('AWS::Cognito::UserPoolGroup', 3);
  });

  test('resource servers named after the SMART contexts, so custom scopes read as SMART scopes', () => {
    const servers = Object.fromEntries(
      resourcesOfType(s.template, 'AWS::Cognito::UserPoolResourceServer').map(([, p]) => [p.Identifier, p.Scopes.map((x: { ScopeName: string }) => x.ScopeName)]),
    );
    expect(Object.keys(servers).sort()).toEqual(['fhirgate', 'launch', 'patient', 'system', 'user']);
    expect(servers.patient).toEqual(expect.arrayContaining(['*.rs', '*.cruds']));
    expect(servers.user).toEqual(expect.arrayContaining(['*.rs', 'Observation.cu', 'Condition.cu', 'Encounter.cu']));
    expect(servers.system).toEqual(expect.arrayContaining(['*.rs', '*.cruds']));
    expect(servers.launch).toEqual(['patient']);
    // The delegation scope is the one the token exchange and the local stack use.
    expect(DELEGATION_SCOPE).toBe(DEMO_DELEGATION_SCOPE);
    expect(servers.fhirgate).toEqual(['delegate']);
  });

  test('managed-login domain (v2) with a branding style for the web client', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { ManagedLoginVersion: 2, Domain: Match.anyValue() });
    s.template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', { UseCognitoProvidedValues: true, ClientId: { Ref: id(s.stack.identity.webClient.node.defaultChild) } });
  });

  test('web client: public, authorization code only, SRP, SMART patient/user scopes, localhost callback by default', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'web',
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']), // the admin flow needs IAM credentials (fhirgate smoke)
      CallbackURLs: ['http://localhost:5173/callback'],
      PreventUserExistenceErrors: 'ENABLED',
      // docs/revocation.md: what the Cognito console alone disables lives this long, not an hour.
      AccessTokenValidity: 15,
      IdTokenValidity: 15,
      TokenValidityUnits: Match.objectLike({ AccessToken: 'minutes', IdToken: 'minutes' }),
    });
    expect(scopesOf('web')).toEqual(expect.arrayContaining(['openid', 'patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'launch/patient']));
    // Machine-only scopes are not offered to people.
    expect(scopesOf('web').filter((x) => x.startsWith('system/') || x === DELEGATION_SCOPE)).toEqual([]);
    const web = resourcesOfType(s.template, 'AWS::Cognito::UserPoolClient').find(([, p]) => p.ClientName === 'web')![1];
    expect(web.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
  });

  test('api-server client: confidential, client_credentials, system/ scopes and the delegation scope', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'api-server',
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
      AccessTokenValidity: 15,
      TokenValidityUnits: Match.objectLike({ AccessToken: 'minutes' }),
    });
    expect(scopesOf('api-server')).toEqual(['system/*.rs', DELEGATION_SCOPE]);
  });
});

describe('links table', () => {
  test('partition key sub, on demand, point-in-time recovery, its own rotated KMS key, deletion protection', () => {
    const table = s.stack.links;
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'sub', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [id(table.key.node.defaultChild), 'Arn'] } },
      DeletionProtectionEnabled: true,
    });
    expect(s.template.toJSON().Resources[id(table.key.node.defaultChild)].Properties).toMatchObject({ EnableKeyRotation: true });
    s.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });
});

describe('backend client tables (SMART Backend Services, private_key_jwt)', () => {
  const tables = () => s.stack.backendClients;
  const tableProps = (table: unknown) => s.template.toJSON().Resources[id(table)] as { Properties: Record<string, any>; DeletionPolicy?: string };
  const sse = () => ({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAttArn(tables().key.node.defaultChild) });
  const [clientsDefinition, replayDefinition] = clientTableDefinitions({ clients: 'c', replay: 'r' });

  test('client registry: partition key clientId, on demand, point-in-time recovery, customer-managed key, deletion protection, retained', () => {
    const registry = tableProps(tables().clients.node.defaultChild);
    expect(registry.Properties).toMatchObject({
      KeySchema: [{ AttributeName: CLIENTS_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: CLIENTS_TABLE.partitionKey, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: sse(),
      DeletionProtectionEnabled: true,
    });
    // Exactly the schema the token service, the admin CLI and the local stack create.
    expect(registry.Properties.KeySchema).toEqual(clientsDefinition!.KeySchema);
    expect(registry.Properties.AttributeDefinitions).toEqual(clientsDefinition!.AttributeDefinitions);
    expect(registry.DeletionPolicy).toBe('Retain');
  });

  test('replay store: clientId + jti, TTL on expiresAt, on demand, customer-managed key; no PITR (short-lived jtis)', () => {
    const replay = tableProps(tables().replay.node.defaultChild);
    expect(replay.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: REPLAY_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: REPLAY_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: REPLAY_TABLE.ttlAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: sse(),
    });
    expect(replay.Properties.KeySchema).toEqual(replayDefinition!.KeySchema);
    expect(replay.Properties.AttributeDefinitions).toEqual(replayDefinition!.AttributeDefinitions);
    expect(replay.Properties.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled).not.toBe(true);
    expect(replay.DeletionPolicy).toBe('Delete');
  });

  test('their key is their own, rotated and retained with the registry', () => {
    const key = tableProps(tables().key.node.defaultChild);
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true });
    expect(key.DeletionPolicy).toBe('Retain');
    expect(id(tables().key.node.defaultChild)).not.toBe(id(s.stack.links.key.node.defaultChild));
  });
});

describe('Lambda functions', () => {
  test.each(['authorizer', 'proxy', 'tokenService'] as const)('%s: nodejs24.x on arm64, X-Ray active, JSON logs to its own encrypted log group', (piece) => {
    const props = fnProps(piece);
    expect(props).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
    expect(props.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: id(s.stack[piece].function.functionLogGroup.node.defaultChild) } });
    expect(props.Handler).toBe('index.handler');
  });

  test('every log group is KMS-encrypted and expires', () => {
    const groups = resourcesOfType(s.template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(6); // 3 functions, API access and execution logs, WAF logs
    for (const [, p] of groups) expect(p).toMatchObject({ KmsKeyId: getAttArn(s.stack.node.findChild('LogKey').node.findChild('Key').node.defaultChild), RetentionInDays: 2192 });
  });

  test('environment names come from the handlers\' config modules; no secret in any environment', () => {
    const env = (piece: 'authorizer' | 'proxy' | 'tokenService') => Object.keys(fnProps(piece).Environment.Variables).sort();
    // No backendClientIds configured: the allow-list variable is left unset on both functions.
    expect(env('authorizer')).toEqual([ENV.issuers, ENV.linkCacheTtlSeconds, ENV.linksTable, ENV.machineClientIds, ENV.settings, ENV.userClientIds].sort());
    expect(env('proxy')).toEqual(
      ['NODE_OPTIONS', PROXY_ENV.backendUrl, PROXY_ENV.backendTimeoutMs, PROXY_ENV.discovery, PROXY_ENV.pagingKmsKeyId, PROXY_ENV.settings, PROXY_ENV.sigv4Region, ...Object.values(EXPORT_ENV)].sort(),
    );
    expect(env('tokenService')).toEqual(
      [
        ENV.issuers,
        ENV.linkCacheTtlSeconds,
        ENV.linksTable,
        ENV.machineClientIds,
        ENV.settings,
        ENV.userClientIds,
        EXCHANGE_ENV.audience,
        EXCHANGE_ENV.delegationScope,
        EXCHANGE_ENV.issuer,
        EXCHANGE_ENV.lifetimeSeconds,
        EXCHANGE_ENV.signingKeyId,
        EXCHANGE_ENV.clientsTable,
        EXCHANGE_ENV.replayTable,
        EXCHANGE_ENV.tokenUrl,
        EXCHANGE_ENV.cognitoTokenUrl,
        // SMART App Launch (on by default): where the broker secret is, never the secret (test/cdk/app-launch.test.ts).
        APP_LAUNCH_ENV.appsTable,
        APP_LAUNCH_ENV.launchTable,
        APP_LAUNCH_ENV.cognitoDomain,
        APP_LAUNCH_ENV.brokerClientId,
        APP_LAUNCH_ENV.brokerSecretId,
        // …and the Parameters and Secrets extension's own settings (set by the layer option).
        'PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED',
        'PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE',
        'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
        'PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL',
        'PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS',
        'SECRETS_MANAGER_TIMEOUT_MILLIS',
        'SECRETS_MANAGER_TTL',
        'SSM_PARAMETER_STORE_TIMEOUT_MILLIS',
        'SSM_PARAMETER_STORE_TTL',
      ].sort(),
    );
    expect(env('tokenService')).not.toContain(APP_LAUNCH_ENV.brokerClientSecret);
    // The paging MAC key is a KMS key id, never key material (FHIRGATE_PAGING_KEY is for the local stack).
    expect(env('proxy')).not.toContain(PROXY_ENV.pagingKey);
    expect(fnProps('proxy').Environment.Variables[PROXY_ENV.pagingKmsKeyId]).toEqual({ 'Fn::GetAtt': [id(s.stack.proxy.pagingKey.node.defaultChild), 'Arn'] });
  });

  test('the proxy runs with the Node.js flags the bench measures it with (lib/runtime-flags.ts); the others with none', () => {
    expect(fnProps('proxy').Environment.Variables.NODE_OPTIONS).toBe(PROXY_NODE_FLAGS.join(' '));
    expect(PROXY_NODE_FLAGS).toContain('--max-semi-space-size=64');
    expect(fnProps('authorizer').Environment.Variables.NODE_OPTIONS).toBeUndefined();
    expect(fnProps('tokenService').Environment.Variables.NODE_OPTIONS).toBeUndefined();
  });

  test('the authorizer trusts the pool and fhirgate\'s own exchange issuer; the exchange issues for the FHIR base', () => {
    const issuers = JSON.stringify(fnProps('authorizer').Environment.Variables[ENV.issuers]);
    expect(issuers).toContain('\\"kind\\":\\"cognito\\"');
    expect(issuers).toContain('\\"kind\\":\\"fhirgate-exchange\\"');
    expect(issuers).toContain('/prod/auth/jwks.json');
    expect(JSON.stringify(fnProps('tokenService').Environment.Variables[EXCHANGE_ENV.audience])).toContain('/prod/fhir');
    expect(fnProps('tokenService').Environment.Variables[EXCHANGE_ENV.lifetimeSeconds]).toBe('300');
    expect(fnProps('authorizer').Environment.Variables[ENV.linkCacheTtlSeconds]).toBe('60');
  });
});

describe('KMS keys', () => {
  test('ES256 signing key for exchanged tokens and an HMAC key for paging links', () => {
    s.template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    s.template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
  });

  test('every symmetric key rotates', () => {
    for (const [, p] of resourcesOfType(s.template, 'AWS::KMS::Key')) {
      if (p.KeySpec === undefined || p.KeySpec === 'SYMMETRIC_DEFAULT') expect(p.EnableKeyRotation).toBe(true);
    }
  });
});

test('the token service finds both client tables, and the token URL it expects as assertion `aud` is the API\'s /auth/token', () => {
  const env = fnProps('tokenService').Environment.Variables;
  expect(env[EXCHANGE_ENV.clientsTable]).toEqual({ Ref: id(s.stack.backendClients.clients.node.defaultChild) });
  expect(env[EXCHANGE_ENV.replayTable]).toEqual({ Ref: id(s.stack.backendClients.replay.node.defaultChild) });
  expect(s.stack.resolve(s.stack.api.tokenExchangeUrl)).toEqual(env[EXCHANGE_ENV.tokenUrl]);
  expect(JSON.stringify(env[EXCHANGE_ENV.tokenUrl])).toContain('/prod/auth/token');
});

test('discovery advertises /auth/token (which takes every advertised grant) and fhirgate\'s own issuer and JWKS', () => {
  // The discovery JSON is an Fn::Join; with each Ref written as ${LogicalId} it parses as JSON.
  const [, parts] = fnProps('proxy').Environment.Variables[PROXY_ENV.discovery]['Fn::Join'] as [string, (string | { Ref: string })[]];
  const discovery = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : `\${${p.Ref}}`)).join(''));
  const base = `https://\${${id(s.stack.api.restApi.node.defaultChild)}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/prod/auth`;
  expect(discovery).toMatchObject({ issuer: base, tokenEndpoint: `${base}/token`, jwksUri: `${base}/jwks.json`, backendServices: true, clientSecrets: true });
  // What the SMART configuration then says, rendered from that environment: token_endpoint takes private_key_jwt and client
  // secrets, and public SMART apps (App Launch is on by default; without it: test/cdk/app-launch.test.ts).
  const smart = smartConfiguration(discovery);
  expect(smart).toMatchObject({ token_endpoint: `${base}/token`, token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] });
  expect(smart).toHaveProperty('authorization_endpoint', `${base}/authorize`);
  // /auth/token forwards client secrets to Cognito's token endpoint.
  expect(JSON.stringify(fnProps('tokenService').Environment.Variables[EXCHANGE_ENV.cognitoTokenUrl])).toContain('/oauth2/token');
});

describe('IAM: least privilege', () => {
  /** The only statements AWS makes us write with Resource "*": X-Ray has no resource-level permissions. */
  const STAR_ALLOWED = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
  const statementsOf = (piece: 'authorizer' | 'proxy' | 'tokenService') =>
    s.template.toJSON().Resources[id(s.stack[piece].function.policy.node.defaultChild)].Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
      Condition?: unknown;
    }[];
  /** Actions of a statement, sorted (the minimizePolicies flag sorts and merges them). */
  const actions = (st: { Action: string | string[] }) => [st.Action].flat().sort();
  const sorted = (list: readonly string[]) => [...list].sort();

  test('no inline policies anywhere; the only AWS managed policy is API Gateway\'s logging role', () => {
    s.template.resourceCountIs('AWS::IAM::Policy', 0);
    const roles = resourcesOfType(s.template, 'AWS::IAM::Role');
    for (const [, role] of roles) expect(role.Policies).toBeUndefined();
    const managed = roles.filter(([, role]) => role.ManagedPolicyArns !== undefined);
    expect(managed).toHaveLength(1);
    expect(JSON.stringify(managed[0]![1].ManagedPolicyArns)).toContain('service-role/AmazonAPIGatewayPushToCloudWatchLogs');
    expect(managed[0]![1].AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe('apigateway.amazonaws.com');
  });

  test('every statement names exactly one resource; "*" only for the allowed exceptions', () => {
    for (const [, policy] of resourcesOfType(s.template, 'AWS::IAM::ManagedPolicy')) {
      for (const st of policy.PolicyDocument.Statement) {
        expect(Array.isArray(st.Resource)).toBe(false);
        if (typeof st.Resource === 'string' && st.Resource.includes('*')) {
          expect(st.Resource).toBe('*');
          for (const a of actions(st)) expect(STAR_ALLOWED.has(a)).toBe(true);
        }
        for (const a of actions(st)) expect(a).not.toMatch(/\*/);
      }
    }
  });

  test('authorizer: its log group, X-Ray, GetItem on the links table, Decrypt on the table key through DynamoDB only', () => {
    const st = statementsOf('authorizer');
    expect(st.map(actions)).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents'], sorted([...STAR_ALLOWED]), ['dynamodb:GetItem'], ['kms:Decrypt']]);
    expect(st[2]!.Resource).toEqual({ 'Fn::GetAtt': [id(s.stack.links.table.node.defaultChild), 'Arn'] });
    expect(st[3]!.Resource).toEqual({ 'Fn::GetAtt': [id(s.stack.links.key.node.defaultChild), 'Arn'] });
    expect(JSON.stringify(st[3]!.Condition)).toContain('kms:ViaService');
  });

  test('proxy: paging MAC key, the FHIR actions on the one HealthLake data store, its key through HealthLake only', () => {
    const st = statementsOf('proxy');
    expect(st.map(actions)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      sorted([...STAR_ALLOWED]),
      ['kms:GenerateMac', 'kms:VerifyMac'],
      // The FHIR actions and the Bulk Data $export ones on the same data store, merged by
      // minimizePolicies (test/cdk/export-bucket.test.ts checks the export grants in detail).
      sorted([...healthLakeProxyActions(), ...Object.values(HEALTHLAKE_EXPORT_ACTIONS)]),
      sorted(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']),
      ['iam:PassRole'],
      ['s3:GetObject'],
      ['kms:Decrypt'],
    ]);
    expect(st[2]!.Resource).toEqual({ 'Fn::GetAtt': [id(s.stack.proxy.pagingKey.node.defaultChild), 'Arn'] });
    expect(st[3]!.Resource).toEqual({ 'Fn::GetAtt': [id(s.stack.backend.datastore!), 'DatastoreArn'] });
    expect(JSON.stringify(st[4]!.Condition)).toContain('healthlake.');
  });

  test('token exchange: Sign and GetPublicKey on the one signing key, links like the authorizer, GetItem on the client registry, PutItem on the replay store', () => {
    const st = statementsOf('tokenService');
    expect(st.map(actions)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      sorted([...STAR_ALLOWED]),
      sorted(['kms:Sign', 'kms:GetPublicKey']),
      ['dynamodb:GetItem'],
      ['kms:Decrypt'],
      ['dynamodb:GetItem'],
      ['dynamodb:PutItem'],
      ['kms:Decrypt'],
      // SMART App Launch, resource by resource in test/cdk/app-launch.test.ts.
      ['dynamodb:GetItem'],
      sorted(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']),
      ['kms:Decrypt'],
      ['secretsmanager:GetSecretValue'],
      ['kms:Decrypt'],
    ]);
    const { clients, replay, key } = s.stack.backendClients;
    expect(st[2]!.Resource).toEqual({ 'Fn::GetAtt': [id(s.stack.tokenService.signingKey.node.defaultChild), 'Arn'] });
    expect(st[3]!.Resource).toEqual(getAttArn(s.stack.links.table.node.defaultChild));
    expect(st[5]!.Resource).toEqual(getAttArn(clients.node.defaultChild));
    expect(st[6]!.Resource).toEqual(getAttArn(replay.node.defaultChild));
    expect(st[7]!.Resource).toEqual(getAttArn(key.node.defaultChild));
    expect(JSON.stringify(st[7]!.Condition)).toContain('kms:ViaService');
    // The registry is read only, the replay store written only; no other function touches either.
    const dynamo = (piece: 'authorizer' | 'proxy' | 'tokenService') => JSON.stringify(statementsOf(piece).filter((x) => actions(x).some((a) => a.startsWith('dynamodb:'))));
    for (const table of [clients, replay]) {
      expect(dynamo('authorizer')).not.toContain(id(table.node.defaultChild));
      expect(dynamo('proxy')).not.toContain(id(table.node.defaultChild));
    }
  });
});

describe('API Gateway', () => {
  const methods = () => apiMethods(s.template);

  test('TOKEN authorizer: Authorization header, bearer regex, 300 s cache', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: BEARER_TOKEN_PATTERN,
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [fnId('authorizer'), 'Arn'] }])]) }),
    });
    expect(BEARER_TOKEN_PATTERN).toBe('^[Bb][Ee][Aa][Rr][Ee][Rr] [-A-Za-z0-9._~+/]+=*$');
  });

  test('the authorizer guards every FHIR method, and nothing else (no CORS configured: no OPTIONS route)', () => {
    const authorizerId = { Ref: id(s.stack.api.node.findChild('TokenAuthorizer').node.defaultChild) };
    const table = methods().map((m) => `${m.verb} ${m.path} ${m.auth}${m.authorizer ? ' authorizer' : ''}`).sort();
    expect(table).toEqual([
      'ANY /auth/token NONE',
      'ANY /fhir CUSTOM authorizer',
      'ANY /fhir/{proxy+} CUSTOM authorizer',
      'GET /auth/.well-known/oauth-authorization-server NONE',
      'GET /auth/.well-known/openid-configuration NONE',
      'GET /auth/authorize NONE',
      'GET /auth/callback NONE',
      'GET /auth/jwks.json NONE',
      'GET /fhir/.well-known/smart-configuration NONE',
      'GET /fhir/metadata NONE',
      'POST /auth/picker NONE',
    ]);
    for (const m of methods()) if (m.auth === 'CUSTOM') expect(m.authorizer).toEqual(authorizerId);
  });

  test('FHIR routes go to the proxy, /auth routes to the token service', () => {
    for (const m of methods()) {
      const expected = m.path.startsWith('/fhir') ? fnId('proxy') : fnId('tokenService');
      expect(m.target).toContain(expected);
    }
  });

  test('stage: ERROR execution logs without data trace, JSON access logs without paths, no stage X-Ray (URLs), throttling, no cache', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: false,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ]),
    });
    const stage = resourcesOfType(s.template, 'AWS::ApiGateway::Stage')[0]![1];
    // The access log group's ARN (without ":*", as API Gateway wants it).
    expect(JSON.stringify(stage.AccessLogSetting.DestinationArn)).toContain(id(s.stack.api.accessLogGroup.node.defaultChild));
    const format = JSON.parse(stage.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', resourcePath: '$context.resourcePath', principalId: '$context.authorizer.principalId' });
    expect(stage.AccessLogSetting.Format).not.toMatch(/\$context\.path|querystring|\$input/);
    expect(stage.CacheClusterEnabled).not.toBe(true);
  });

  test('API Gateway\'s own errors are FHIR OperationOutcomes; a Deny carries the authorizer\'s reason', () => {
    const responses = gatewayResponses(s.template);
    expect(Object.keys(responses).sort()).toEqual(['ACCESS_DENIED', 'DEFAULT_4XX', 'DEFAULT_5XX', 'MISSING_AUTHENTICATION_TOKEN', 'UNAUTHORIZED']);
    for (const r of Object.values(responses)) {
      expect(r.ResponseParameters['gatewayresponse.header.Content-Type']).toBe("'application/fhir+json'");
      const body = r.ResponseTemplates['application/json'] as string;
      expect(body).toContain('"resourceType":"OperationOutcome"');
      // Valid JSON once API Gateway substitutes its variables (messageString is a JSON string literal).
      expect(() => JSON.parse(body.replace(/\$context\.error\.messageString/g, '"x"'))).not.toThrow();
    }
    expect(responses.ACCESS_DENIED.StatusCode).toBe('403');
    expect(responses.ACCESS_DENIED.ResponseTemplates['application/json']).toContain('$context.authorizer.reason');
    expect(responses.UNAUTHORIZED.StatusCode).toBe('401');
    // RFC 6750 §3: the same challenges the local gateway sends for a refused token and a Deny (one definition).
    expect(responses.UNAUTHORIZED.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'${GATEWAY_CHALLENGES.unauthorized}'`);
    expect(responses.ACCESS_DENIED.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'${GATEWAY_CHALLENGES.accessDenied}'`);
    expect(GATEWAY_CHALLENGES).toEqual({ unauthorized: 'Bearer realm="fhirgate", error="invalid_token"', accessDenied: 'Bearer realm="fhirgate", error="insufficient_scope"' });
    for (const r of [responses.UNAUTHORIZED, responses.ACCESS_DENIED]) expect(r.ResponseParameters['gatewayresponse.header.Cache-Control']).toBe("'no-store'");
    // No CORS origins configured: no browser may read anything, errors included.
    for (const r of Object.values(responses)) expect(Object.keys(r.ResponseParameters).filter((h) => /access-control/i.test(h))).toEqual([]);
  });

  test('WAF (on by default): per-caller and per-IP rate limits, managed rules, logs with tokens and queries redacted', () => {
    s.template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({ Name: 'rate-limit-per-caller', Statement: { RateBasedStatement: Match.objectLike({ AggregateKeyType: 'CUSTOM_KEYS', Limit: 3000 }) }, Action: { Block: {} } }),
        Match.objectLike({ Name: 'rate-limit-per-ip', Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 30000 } }, Action: { Block: {} } }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: Match.objectLike({ VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' }) } }),
      ]),
    });
    s.template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: Match.anyValue() });
    s.template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { QueryString: {} }],
    });
  });
});

describe('HealthLake backend', () => {
  test('an R4 data store with SigV4 (AWS_AUTH) and a customer-managed key, kept on delete', () => {
    s.template.hasResourceProperties('AWS::HealthLake::FHIRDatastore', {
      DatastoreTypeVersion: 'R4',
      IdentityProviderConfiguration: { AuthorizationStrategy: 'AWS_AUTH' },
      SseConfiguration: { KmsEncryptionConfig: { CmkType: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: { 'Fn::GetAtt': [id(s.stack.backend.key!.node.defaultChild), 'Arn'] } } },
    });
    s.template.hasResource('AWS::HealthLake::FHIRDatastore', { DeletionPolicy: 'Retain' });
    expect(fnProps('proxy').Environment.Variables[PROXY_ENV.backendUrl]).toEqual({ 'Fn::GetAtt': [id(s.stack.backend.datastore!), 'DatastoreEndpoint'] });
    expect(fnProps('proxy').Environment.Variables[PROXY_ENV.sigv4Region]).toEqual({ Ref: 'AWS::Region' });
  });
});

test('outputs: every URL and id a client or operator needs', () => {
  const outputs = Object.keys(s.template.toJSON().Outputs);
  for (const name of [
    'FhirBaseUrl',
    'SmartConfigurationUrl',
    'UserPoolId',
    'WebClientId',
    'ApiServerClientId',
    'CognitoTokenUrl',
    'TokenExchangeUrl',
    'JwksUrl',
    'LinksTableName',
    'ClientsTableName',
    'HealthLakeDatastoreId',
    'ExportBucketName',
    STACK_OUTPUTS.authorizerCacheTtlSeconds,
    STACK_OUTPUTS.linkCacheTtlSeconds,
  ]) {
    expect(outputs).toContain(name);
  }
  // What the CLI states as the revocation window of a deployed stack (bin/cli/target.ts).
  expect(s.template.toJSON().Outputs[STACK_OUTPUTS.authorizerCacheTtlSeconds].Value).toBe(String(DEFAULT_FHIRGATE_SETTINGS.authorizerCacheTtlSeconds));
  expect(s.template.toJSON().Outputs[STACK_OUTPUTS.linkCacheTtlSeconds].Value).toBe(String(DEFAULT_FHIRGATE_SETTINGS.linkCacheTtlSeconds));
  expect(s.template.toJSON().Outputs.ClientsTableName.Value).toEqual({ Ref: id(s.stack.backendClients.clients.node.defaultChild) });
});

test('bundles: buildFunctionBundle gives byte for byte what cdk synth ships; each within its budget', async () => {
  // The benchmark measures sizes and cold starts on buildFunctionBundle's output: it must be the asset.
  const pieces = { authorizer: 'authorizer', 'fhir-proxy': 'proxy', 'token-exchange': 'tokenService' } as const;
  const out = mkdtempSync(join(tmpdir(), 'fhirgate-bundle-'));
  try {
    const rows = [];
    for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
      const key = fnProps(pieces[name]).Code.S3Key as string;
      const asset = readFileSync(join(s.outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js'));
      const built = await buildFunctionBundle(FUNCTION_ENTRIES[name], join(out, name));
      expect({ name, same: readFileSync(built.file).equals(asset) }).toEqual({ name, same: true });
      rows.push({ name, bytes: asset.length, budget: BUNDLE_BUDGET_BYTES[name] });
    }
    console.log(['function        minified bytes   budget', ...rows.map((r) => `${r.name.padEnd(15)} ${String(r.bytes).padStart(14)}   ${r.budget}`)].join('\n'));
    for (const r of rows) expect({ name: r.name, within: r.bytes <= r.budget }).toEqual({ name: r.name, within: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
