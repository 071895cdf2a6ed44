/**
 * The authorizer trusting fhirgate's exchange issuer: what a delegated token must look like to be
 * allowed, and that everything else is refused. Tokens here are hand-made ES256 JWTs (so they can
 * be wrong in every way), verified against a JWKS served over HTTP on 127.0.0.1; links in dynalite.
 */
import { generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { configFromEnv, ENV } from '../../functions/adapters/authz-config';
import { AuthorizerHandler, createAuthorizerHandler } from '../../functions/authorizer/handler';
import { CachedLinkStore, DynamoLinkStore } from '../../functions/adapters/link-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { LogRecord } from '../../functions/common/log';
import { createJwksHandler } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { JwtSigner } from '../../functions/token-exchange/signer';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { startTokenServiceServer, TokenServiceServer } from '../token-exchange/support';

const FHIR = 'https://api.example.test/prod/fhir';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/fhir/Observation';
const CLIENTS = { userClientIds: ['web'], machineClientIds: ['api-server'] };

let cognito: TestIssuer;
let dynamo: TestDynamo;
let exchangeJwks: TokenServiceServer;
let privateKey: KeyObject;
let signer: JwtSigner;
let logs: LogRecord[];
let authorize: AuthorizerHandler;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An ES256 JWT with any header and payload. */
function es256(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: KeyObject = privateKey): string {
  const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid, ...header })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** What the exchange issues for Alice, acted on by the API server, with changes. */
const delegated = (extra: Record<string, unknown> = {}) => {
  const t = now();
  const claims: Record<string, unknown> = {
    iss: exchangeJwks.issuer, sub: 'u-alice', aud: FHIR, client_id: 'api-server', act: { sub: 'api-server' },
    scope: 'patient/*.rs', patient: 'pat-alice', fhirUser: 'Patient/pat-alice', jti: randomUUID(), iat: t, exp: t + 300, ...extra,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return claims;
};

beforeAll(async () => {
  cognito = await startTestIssuer();
  dynamo = await startDynalite();
  exchangeJwks = await startTokenServiceServer();
  privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  signer = createLocalSigner(privateKey);
  exchangeJwks.handler = createJwksHandler({ keys: [signer] });
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
  await dynamo.putLink({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob'] });
});
afterAll(async () => {
  await exchangeJwks.close();
  await cognito.close();
  await dynamo.close();
});
beforeEach(() => {
  logs = [];
  authorize = createAuthorizerHandler({
    verifier: createLoopbackVerifier({
      issuers: [
        { kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri },
        { kind: 'fhirgate-exchange', issuer: exchangeJwks.issuer, jwksUri: exchangeJwks.jwksUri, audience: FHIR },
      ],
      clientIds: ['web', 'api-server'],
      unknownKidWaitSeconds: 0,
    }),
    links: new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), 0),
    clients: CLIENTS,
    settings: DEFAULT_SETTINGS,
    log: (r) => logs.push(r),
  });
});

const run = (token: string) => authorize({ type: 'TOKEN', methodArn: ARN, authorizationToken: `Bearer ${token}` });
const effect = (r: APIGatewayAuthorizerResult) => r.policyDocument.Statement.map((s) => (s as { Effect: string }).Effect);

describe('accepted', () => {
  test('an exchanged token → Allow, kind delegated, sub = user, actor = client', async () => {
    const r = await run(es256(delegated()));
    expect(effect(r)).toEqual(['Allow']);
    expect(r.context).toEqual({ kind: 'delegated', sub: 'u-alice', actor: 'api-server', clientId: 'api-server', fhirUser: 'Patient/pat-alice', patients: 'pat-alice', scopes: 'patient/*.rs' });
  });

  test('a constrained scope is kept as issued', async () => {
    const r = await run(es256(delegated({ scope: 'patient/Observation.rs?category=laboratory' })));
    expect(r.context).toMatchObject({ scopes: 'patient/Observation.rs?category=laboratory' });
  });

  test('typ application/at+jwt is the same media type (RFC 9068 §4)', async () => {
    expect(effect(await run(es256(delegated(), { typ: 'application/at+jwt' })))).toEqual(['Allow']);
  });
});

describe('refused as untrustworthy → 401', () => {
  const cases: [string, () => string, string][] = [
    ['no act', () => es256(delegated({ act: undefined })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['act is a string', () => es256(delegated({ act: 'api-server' })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['nested act (a chain)', () => es256(delegated({ act: { sub: 'api-server', act: { sub: 'other' } } })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['client_id differs from act.sub', () => es256(delegated({ client_id: 'web' })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['actor not on the machine allow-list', () => es256(delegated({ client_id: 'web', act: { sub: 'web' } })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['no patient', () => es256(delegated({ patient: undefined })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['patient not a FHIR id', () => es256(delegated({ patient: '../pat-alice' })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['fhirUser not Type/id', () => es256(delegated({ fhirUser: 'pat-alice' })), 'ERR_TOKEN_CLAIM_INVALID'],
    ['a user/ scope', () => es256(delegated({ scope: 'user/*.rs' })), 'ERR_SCOPE_INVALID'],
    ['a system/ scope', () => es256(delegated({ scope: 'system/*.rs' })), 'ERR_SCOPE_INVALID'],
    ['patient/ plus a non-FHIR scope', () => es256(delegated({ scope: 'patient/*.rs fhirgate/delegate' })), 'ERR_SCOPE_INVALID'],
    ['no scope', () => es256(delegated({ scope: undefined })), 'ERR_SCOPE_INVALID'],
    ['aud of another API', () => es256(delegated({ aud: 'https://other.example.test/fhir' })), 'ERR_TOKEN_INVALID'],
    ['no aud', () => es256(delegated({ aud: undefined })), 'ERR_TOKEN_INVALID'],
    ['typ JWT (not an access token)', () => es256(delegated(), { typ: 'JWT' }), 'ERR_TOKEN_INVALID'],
    ['no typ', () => es256(delegated(), { typ: undefined }), 'ERR_TOKEN_INVALID'],
    ['no exp', () => es256(delegated({ exp: undefined })), 'ERR_TOKEN_INVALID'],
    ['expired', () => es256(delegated({ iat: now() - 900, exp: now() - 600 })), 'ERR_TOKEN_EXPIRED'],
    ['known kid, another key', () => es256(delegated(), {}, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'ERR_TOKEN_INVALID'],
    ['header alg ES384 on the P-256 key', () => es256(delegated(), { alg: 'ES384' }), 'ERR_TOKEN_INVALID'],
    ['RS256 from the Cognito key, claiming the exchange issuer', () => cognito.token({ ...delegated(), token_use: undefined }), 'ERR_TOKEN_INVALID'],
    ['a Cognito token shaped like a delegated one (act from Cognito)', () => cognito.token({ ...delegated({ iss: cognito.issuer }), username: 'u-alice', client_id: 'web' }), 'ERR_TOKEN_CLAIM_INVALID'],
  ];
  test.each(cases)('%s', async (_name, token, code) => {
    await expect(run(token())).rejects.toThrow(/^Unauthorized$/);
    expect(logs.at(-1)).toMatchObject({ event: 'authorizer.deny', code });
  });
});

describe('valid token, link no longer supports it → Deny (403)', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['the user has no link', { sub: 'u-nobody' }, 'ERR_NO_LINK'],
    ['the patient is not (any longer) the user\'s', { patient: 'pat-bob' }, 'ERR_NO_LINK'],
    ['the user\'s fhirUser changed', { fhirUser: 'Patient/pat-other' }, 'ERR_NO_LINK'],
    ['the user is now a practitioner (role ceiling has no patient/ scope)', { sub: 'u-doc', patient: 'pat-bob', fhirUser: 'Practitioner/prac-1' }, 'ERR_SCOPE_INSUFFICIENT'],
  ];
  test.each(cases)('%s', async (_name, extra, code) => {
    const r = await run(es256(delegated(extra)));
    expect(effect(r)).toEqual(['Deny']);
    expect(r.context).toMatchObject({ code });
  });
});

describe('configuration', () => {
  const base = { [ENV.linksTable]: 'links', [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS) };
  test('FHIRGATE_TRUSTED_ISSUERS accepts a fhirgate-exchange issuer with its audience', () => {
    const issuers = [
      { kind: 'cognito', userPoolId: 'us-east-1_abc' },
      { kind: 'fhirgate-exchange', issuer: 'https://api.example.test/prod/auth', jwksUri: 'https://api.example.test/prod/auth/jwks.json', audience: FHIR },
    ];
    expect(configFromEnv({ ...base, [ENV.issuers]: JSON.stringify(issuers) }).issuers).toEqual(issuers);
  });
  test('a fhirgate-exchange issuer without an audience is refused', () => {
    const issuers = [{ kind: 'fhirgate-exchange', issuer: 'https://x/auth', jwksUri: 'https://x/auth/jwks.json' }];
    expect(() => configFromEnv({ ...base, [ENV.issuers]: JSON.stringify(issuers) })).toThrow(/FHIRGATE_TRUSTED_ISSUERS at \[0\]\.audience: is required/);
  });
  test('two trusted issuers with the same URL are refused (one set of rules would silently lose)', () => {
    expect(() =>
      createLoopbackVerifier({
        issuers: [
          { kind: 'cognito-compatible', issuer: 'http://127.0.0.1:1/pool', jwksUri: 'http://127.0.0.1:1/jwks' },
          { kind: 'fhirgate-exchange', issuer: 'http://127.0.0.1:1/pool', jwksUri: 'http://127.0.0.1:1/jwks', audience: FHIR },
        ],
        clientIds: [],
      }),
    ).toThrow(TypeError);
  });
});
