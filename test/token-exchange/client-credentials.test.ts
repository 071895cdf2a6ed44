/**
 * SMART Backend Services end to end in-process: backend clients with freshly generated RS384 and
 * ES384 keys (one JWKS inline in the registry, one served over HTTP on 127.0.0.1 and rotated),
 * the registry and the `jti` replay store in dynalite (real conditional puts), the token service
 * signing with a local key and publishing its JWKS over HTTP, and the real authorizer trusting
 * that issuer. Nothing is mocked; the clock is injected.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult } from 'aws-lambda';
import { AuthorizerHandler, createAuthorizerHandler } from '../../functions/authorizer/handler';
import { CachedLinkStore, DynamoLinkStore } from '../../functions/adapters/link-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { BackendClient } from '../../functions/core/client-assertion';
import { DependencyError } from '../../functions/core/errors';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { ExchangePolicy } from '../../functions/core/token-exchange';
import type { LogRecord } from '../../functions/common/log';
import { AssertionVerifier, BoundedJwksFetcher, createAssertionVerifier } from '../../functions/token-exchange/assertion-verifier';
import { ClientCredentialsDeps } from '../../functions/token-exchange/client-credentials';
import { DynamoClientRegistry } from '../../functions/token-exchange/client-registry';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import { createTokenServiceHandler, ProxyHandler } from '../../functions/token-exchange/handler';
import { signAccessToken } from '../../functions/token-exchange/jwt';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { DynamoReplayStore } from '../../functions/token-exchange/replay-store';
import type { JwtSigner } from '../../functions/token-exchange/signer';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { assertionClaims, ClientJwksServer, ClientKey, clientCredentialsForm, clientKey, publicJwk, signAssertion, startClientJwksServer } from './backend-support';
import { bodyOf, decodeJwt, proxyEvent, startTokenServiceServer, TokenServiceServer } from './support';

const FHIR = 'https://api.example.test/prod/fhir';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/fhir/Observation';
const TABLES = { clients: 'fhirgate-clients', replay: 'fhirgate-client-assertions' };
const RS = 'sync-job'; // RS384, JWKS stored in the registry
const ES = 'analytics-vendor'; // ES384, JWKS served at a URL and rotated
const REVOKED = 'old-vendor';
const UNLISTED = 'registered-not-enabled';
/** The client JWKS server here is plain HTTP on loopback: an allowance only the local wiring passes. */
const LOOPBACK_JWKS = new BoundedJwksFetcher(3000, 64 * 1024, true);
const CLIENTS = { userClientIds: ['web'], machineClientIds: ['api-server'], backendClientIds: [RS, ES, REVOKED] };

let cognito: TestIssuer;
let dynamo: TestDynamo;
let service: TokenServiceServer;
let clientJwks: ClientJwksServer;
let signer: JwtSigner;
let rsKey: ClientKey;
let esKey: ClientKey;
let logs: LogRecord[];
let nowMs: number;
let tokenService: ProxyHandler;
let authorize: AuthorizerHandler;

const now = () => Math.floor(nowMs / 1000);
const tokenUrl = () => `${service.issuer}/token`;

function policy(): ExchangePolicy {
  return { issuer: service.issuer, audience: FHIR, delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 };
}

function build(options: { assertions?: AssertionVerifier; clientCredentials?: Partial<ClientCredentialsDeps> } = {}): ProxyHandler {
  return createTokenServiceHandler({
    verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: ['web', 'api-server'] }),
    links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
    clients: CLIENTS,
    settings: DEFAULT_SETTINGS,
    policy: policy(),
    signer,
    log: (r) => logs.push(r),
    now: () => nowMs,
    clientCredentials: {
      registry: new DynamoClientRegistry(dynamo.client, TABLES.clients),
      replay: new DynamoReplayStore(dynamo.client, TABLES.replay),
      tokenUrl: tokenUrl(),
      assertions: options.assertions ?? createAssertionVerifier({ unknownKidWaitSeconds: 0, now: () => nowMs, fetcher: LOOPBACK_JWKS }),
      ...options.clientCredentials,
    },
  });
}

const registration = (clientId: string, keys: BackendClient['keys'], scopes: string[], status: BackendClient['status'] = 'active'): BackendClient => ({
  clientId,
  status,
  keys,
  scopes,
});

beforeAll(async () => {
  cognito = await startTestIssuer();
  dynamo = await startDynalite();
  service = await startTokenServiceServer();
  signer = createLocalSigner();
  rsKey = clientKey('RS384');
  esKey = clientKey('ES384');
  clientJwks = await startClientJwksServer([esKey]);
  await createClientTables(dynamo.client, TABLES);
  await createClientTables(dynamo.client, TABLES); // idempotent: the local stack may call it on every start
  await putBackendClient(dynamo.client, TABLES.clients, registration(RS, { kind: 'jwks', jwks: { keys: [publicJwk(rsKey)] } }, ['system/*.rs']));
  await putBackendClient(dynamo.client, TABLES.clients, registration(ES, { kind: 'jwks_uri', uri: clientJwks.jwksUri }, ['system/Observation.rs', 'system/Patient.rs']));
  await putBackendClient(dynamo.client, TABLES.clients, registration(REVOKED, { kind: 'jwks', jwks: { keys: [publicJwk(rsKey)] } }, ['system/*.rs'], 'revoked'));
  await putBackendClient(dynamo.client, TABLES.clients, registration(UNLISTED, { kind: 'jwks', jwks: { keys: [publicJwk(rsKey)] } }, ['system/*.rs']));
});
afterAll(async () => {
  await clientJwks.close();
  await service.close();
  await cognito.close();
  await dynamo.close();
});
beforeEach(() => {
  logs = [];
  nowMs = Date.now();
  clientJwks.keys = [esKey];
  tokenService = build();
  service.handler = tokenService;
  authorize = createAuthorizerHandler({
    verifier: createLoopbackVerifier({
      issuers: [
        { kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri },
        { kind: 'fhirgate-exchange', issuer: service.issuer, jwksUri: service.jwksUri, audience: FHIR },
      ],
      clientIds: ['web', 'api-server'],
    }),
    links: new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), 0),
    clients: CLIENTS,
    settings: DEFAULT_SETTINGS,
    log: (r) => logs.push(r),
  });
});

/** A valid assertion for `clientId` signed with `key`, with claim and header changes. */
const assertion = (clientId: string, key: ClientKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signAssertion(key, assertionClaims(clientId, tokenUrl(), now(), claims), header);
const post = (body: string, headers?: Record<string, string>) =>
  tokenService(proxyEvent({ body, ...(headers ? { headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers } } : {}) }));
const effect = (r: APIGatewayAuthorizerResult) => r.policyDocument.Statement.map((s) => (s as { Effect: string }).Effect);
const authorizeBearer = (token: string) => authorize({ type: 'TOKEN', methodArn: ARN, authorizationToken: `Bearer ${token}` });

function expectOAuthError(r: APIGatewayProxyResult, error: string, status: number): void {
  expect({ status: r.statusCode, error: bodyOf(r).error }).toEqual({ status, error });
  expect(typeof bodyOf(r).error_description).toBe('string');
  expect(bodyOf(r).access_token).toBeUndefined();
  expect(r.headers).toMatchObject({ 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

describe('a valid assertion gets a system/ token that the authorizer allows', () => {
  test('RS384, JWKS in the registry: all allowed scopes, 300 s, no refresh token; Allow as system', async () => {
    const presented = assertion(RS, rsKey);
    const r = await post(clientCredentialsForm(presented));
    expect(r.statusCode).toBe(200);
    expect(r.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const body = bodyOf(r);
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, scope: 'system/*.rs' });
    const { header, payload } = decodeJwt(body.access_token);
    // The same signer, issuer and JWKS as exchanged tokens; no act, no patient context.
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid });
    expect(payload).toEqual({
      iss: service.issuer, sub: RS, aud: FHIR, client_id: RS, scope: 'system/*.rs', jti: expect.stringMatching(/^[0-9a-f-]{36}$/), iat: now(), exp: now() + 300,
    });

    const allowed = await authorizeBearer(body.access_token);
    expect(effect(allowed)).toEqual(['Allow']);
    expect(allowed.principalId).toBe(RS);
    expect(allowed.context).toEqual({ kind: 'system', sub: RS, clientId: RS, patients: '', scopes: 'system/*.rs' });
    expect(logs).toContainEqual(expect.objectContaining({ event: 'backend-token.issued', client: RS, scope: 'system/*.rs', kid: signer.kid }));
    // Neither the assertion nor the issued token is ever logged.
    for (const t of [presented, body.access_token]) expect(JSON.stringify(logs)).not.toContain(t.split('.')[2]);
  });

  test('ES384, JWKS at a URL, a narrower scope requested (and resource = the FHIR base)', async () => {
    const r = await post(clientCredentialsForm(assertion(ES, esKey), [['scope', 'system/Observation.rs'], ['resource', FHIR], ['client_id', ES]]));
    expect(bodyOf(r)).toMatchObject({ token_type: 'Bearer', scope: 'system/Observation.rs' });
    const allowed = await authorizeBearer(bodyOf(r).access_token);
    expect(effect(allowed)).toEqual(['Allow']);
    expect(allowed.context).toMatchObject({ kind: 'system', clientId: ES, scopes: 'system/Observation.rs' });
  });

  test('aud = the issuer identifier (what oauth4webapi and openid-client send, RFC 7523 §3) is accepted too', async () => {
    expect((await post(clientCredentialsForm(assertion(ES, esKey, { aud: service.issuer })))).statusCode).toBe(200);
  });

  test('an aud given as a one-element array is the same audience', async () => {
    expect((await post(clientCredentialsForm(assertion(ES, esKey, { aud: [tokenUrl()] })))).statusCode).toBe(200);
  });

  test('the token lifetime follows the policy (≤ 300 s)', async () => {
    const shorter = createTokenServiceHandler({
      verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: ['web'] }),
      links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
      clients: CLIENTS,
      settings: DEFAULT_SETTINGS,
      policy: { ...policy(), lifetimeSeconds: 120 },
      signer,
      log: () => undefined,
      clientCredentials: { registry: new DynamoClientRegistry(dynamo.client, TABLES.clients), replay: new DynamoReplayStore(dynamo.client, TABLES.replay), tokenUrl: tokenUrl() },
    });
    const r = await shorter(proxyEvent({ body: clientCredentialsForm(signAssertion(rsKey, assertionClaims(RS, tokenUrl(), Math.floor(Date.now() / 1000)))) }));
    expect(bodyOf(r).expires_in).toBe(120);
  });
});

describe('refusals: invalid_client (401)', () => {
  const other = () => clientKey('RS384', rsKey.kid); // a different key under the registered kid
  const cases: [string, () => string, RegExp][] = [
    ['bad signature (another key, the registered kid)', () => assertion(RS, other()), /Invalid signature/],
    ['signature of another assertion', () => { const [h, p] = assertion(RS, rsKey).split('.'); return `${h}.${p}.${assertion(RS, rsKey).split('.')[2]}`; }, /Invalid signature/],
    ['unknown client', () => assertion('nobody', rsKey), /unknown client/],
    ['revoked client', () => assertion(REVOKED, rsKey), /revoked/],
    ['wrong aud (the FHIR base)', () => assertion(RS, rsKey, { aud: FHIR }), /"aud" must be/],
    ['wrong aud (token URL plus another audience)', () => assertion(RS, rsKey, { aud: [tokenUrl(), 'https://other.example/token'] }), /"aud" must be/],
    ['wrong aud (trailing slash)', () => assertion(RS, rsKey, { aud: `${tokenUrl()}/` }), /"aud" must be/],
    ['expired', () => assertion(RS, rsKey, { exp: now() - 1 }), /expired/],
    ['exp exactly now', () => assertion(RS, rsKey, { exp: now() }), /expired/],
    ['exp more than 5 minutes ahead', () => assertion(RS, rsKey, { exp: now() + 301 }), /more than 300 seconds ahead/],
    ['no exp', () => assertion(RS, rsKey, { exp: undefined }), /"exp"/],
    ['no jti', () => assertion(RS, rsKey, { jti: undefined }), /"jti"/],
    ['nbf in the future', () => assertion(RS, rsKey, { nbf: now() + 30 }), /nbf/],
    ['sub is not iss', () => assertion(RS, rsKey, { sub: 'someone-else' }), /"sub" must equal "iss"/],
    ['jku not the registered JWKS URL', () => assertion(ES, esKey, {}, { jku: 'https://attacker.example/jwks.json' }), /jku/],
    ['jku on a client registered with an inline JWKS', () => assertion(RS, rsKey, {}, { jku: clientJwks.jwksUri }), /jku/],
    ['alg HS256 keyed with the public key (algorithm confusion)', () => assertion(RS, rsKey, {}, { alg: 'HS256' }), /alg "HS256" is not accepted/],
    ['alg RS256 (really signed with RS256)', () => assertion(RS, rsKey, {}, { alg: 'RS256' }), /alg "RS256" is not accepted/],
    ['alg ES256 on the P-384 key', () => assertion(ES, esKey, {}, { alg: 'ES256' }), /alg "ES256" is not accepted/],
    ['alg none', () => assertion(RS, rsKey, {}, { alg: 'none' }), /alg "none" is not accepted/],
    ['alg ES384 header on an RSA key', () => assertion(RS, rsKey, {}, { alg: 'ES384' }), /algorithm not allowed: ES384/],
    ['missing kid', () => assertion(RS, rsKey, {}, { kid: undefined }), /"kid"/],
    ['kid not in the client JWKS', () => assertion(RS, rsKey, {}, { kid: 'not-registered' }), /no key with this kid/],
    ['crit header', () => assertion(RS, rsKey, {}, { crit: ['exp'] }), /crit/],
    ['not a JWT', () => 'not-a-jwt', /not a compact JWS/],
    ['the assertion is of another client (iss = ES, signed by RS key)', () => assertion(ES, rsKey, {}, { kid: esKey.kid }), /algorithm not allowed: RS384/],
  ];
  test.each(cases)('%s', async (_name, make, reason) => {
    const presented = make();
    const r = await post(clientCredentialsForm(presented));
    expectOAuthError(r, 'invalid_client', 401);
    expect(bodyOf(r).error_description).toMatch(reason);
    expect(logs.at(-1)).toMatchObject({ event: 'token-exchange.refused', grant_type: 'client_credentials', error: 'invalid_client' });
    for (const part of presented.split('.').slice(1)) if (part.length > 8) expect(JSON.stringify(logs)).not.toContain(part); // no assertion in the log
  });

  test('the refusal log names the claimed client and says why', async () => {
    await post(clientCredentialsForm(assertion(REVOKED, rsKey)));
    expect(logs.at(-1)).toEqual({ level: 'warn', event: 'token-exchange.refused', grant_type: 'client_credentials', client: REVOKED, error: 'invalid_client', reason: 'the client is revoked' });
  });

  test('client_id naming another client than the assertion', async () => {
    expectOAuthError(await post(clientCredentialsForm(assertion(RS, rsKey), [['client_id', ES]])), 'invalid_client', 401);
  });

  test('an RSA key under 2048 bits in the registry authenticates nobody', async () => {
    const weak: ClientKey = { alg: 'RS384', kid: 'weak', ...generateKeyPairSync('rsa', { modulusLength: 1024 }) };
    await putBackendClient(dynamo.client, TABLES.clients, registration('weak-key', { kind: 'jwks', jwks: { keys: [publicJwk(weak)] } }, ['system/*.rs']));
    const r = await post(clientCredentialsForm(assertion('weak-key', weak)));
    expectOAuthError(r, 'invalid_client', 401);
    expect(bodyOf(r).error_description).toMatch(/at least 2048 bits/);
  });

  test('a registered JWK without "alg": the key type must still match the header (ES384 over an RSA key)', async () => {
    const { alg: _alg, use: _use, ...bare } = publicJwk(rsKey);
    await putBackendClient(dynamo.client, TABLES.clients, registration('bare-jwk', { kind: 'jwks', jwks: { keys: [bare] } }, ['system/*.rs']));
    // An RSA-SHA384 signature labelled ES384: the signature itself verifies with the RSA key.
    const r = await post(clientCredentialsForm(assertion('bare-jwk', rsKey, {}, { alg: 'ES384' })));
    expectOAuthError(r, 'invalid_client', 401);
    expect(bodyOf(r).error_description).toMatch(/ES384 needs an EC P-384 key/);
    // Labelled RS384 it authenticates (and is then refused only for not being allow-listed).
    expect(bodyOf(await post(clientCredentialsForm(assertion('bare-jwk', rsKey))))).toMatchObject({ error: 'unauthorized_client' });
  });

  test('a client JWKS that publishes a private key authenticates nobody (that key is compromised)', async () => {
    const leaky = clientKey('ES384');
    // publicJwk() exports whatever `publicKey` holds: here the private key, `d` included.
    const server = await startClientJwksServer([{ ...leaky, publicKey: leaky.privateKey }]);
    try {
      await putBackendClient(dynamo.client, TABLES.clients, registration('leaky', { kind: 'jwks_uri', uri: server.jwksUri }, ['system/*.rs']));
      const r = await post(clientCredentialsForm(assertion('leaky', leaky)));
      expectOAuthError(r, 'invalid_client', 401);
      expect(bodyOf(r).error_description).toMatch(/private key/);
    } finally {
      await server.close();
    }
  });
});

describe('refusals: invalid_request (400), invalid_scope (400), unauthorized_client (400)', () => {
  const form = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();
  const cases: [string, string, () => string][] = [
    ['no client_assertion', 'invalid_request', () => form([['grant_type', 'client_credentials'], ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer']])],
    ['no client_assertion_type', 'invalid_request', () => form([['grant_type', 'client_credentials'], ['client_assertion', assertion(RS, rsKey)]])],
    ['wrong client_assertion_type', 'invalid_request', () => form([['grant_type', 'client_credentials'], ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer'], ['client_assertion', assertion(RS, rsKey)]])],
    ['client_assertion twice', 'invalid_request', () => `${clientCredentialsForm(assertion(RS, rsKey))}&client_assertion=${assertion(RS, rsKey)}`],
    ['grant_type twice', 'invalid_request', () => `${clientCredentialsForm(assertion(RS, rsKey))}&grant_type=client_credentials`],
    ['scope twice', 'invalid_request', () => clientCredentialsForm(assertion(RS, rsKey), [['scope', 'system/Patient.rs'], ['scope', 'system/Patient.rs']])],
    ['a client secret as well', 'invalid_request', () => clientCredentialsForm(assertion(RS, rsKey), [['client_secret', 's3cret']])],
    ['an assertion over 8 KiB', 'invalid_request', () => clientCredentialsForm(assertion(RS, rsKey, { padding: 'x'.repeat(8192) }))],
    ['scope beyond the registration', 'invalid_scope', () => clientCredentialsForm(assertion(ES, esKey), [['scope', 'system/Condition.rs']])],
    ['wider permission than registered', 'invalid_scope', () => clientCredentialsForm(assertion(ES, esKey), [['scope', 'system/Observation.cruds']])],
    ['a patient/ scope', 'invalid_scope', () => clientCredentialsForm(assertion(RS, rsKey), [['scope', 'patient/*.rs']])],
    ['a user/ scope', 'invalid_scope', () => clientCredentialsForm(assertion(RS, rsKey), [['scope', 'user/*.rs']])],
    ['openid', 'invalid_scope', () => clientCredentialsForm(assertion(RS, rsKey), [['scope', 'system/*.rs openid']])],
    ['the delegation scope', 'invalid_scope', () => clientCredentialsForm(assertion(RS, rsKey), [['scope', 'fhirgate/delegate']])],
    ['resource of another API', 'invalid_target', () => clientCredentialsForm(assertion(RS, rsKey), [['resource', 'https://payments.example.test/']])],
    ['registered, authenticated, but not in FHIRGATE_BACKEND_CLIENT_IDS', 'unauthorized_client', () => clientCredentialsForm(assertion(UNLISTED, rsKey))],
    ['another grant type', 'unsupported_grant_type', () => form([['grant_type', 'password'], ['username', 'a'], ['password', 'b']])],
  ];
  test.each(cases)('%s → %s', async (_name, error, body) => {
    expectOAuthError(await post(body()), error, 400);
  });

  test('HTTP Basic client authentication as well → invalid_request (one method per request)', async () => {
    const r = await post(clientCredentialsForm(assertion(RS, rsKey)), { Authorization: `Basic ${Buffer.from(`${RS}:secret`).toString('base64')}` });
    expectOAuthError(r, 'invalid_request', 400);
  });

  test('an unknown grant type names both supported grants', async () => {
    const r = await post(form([['grant_type', 'authorization_code'], ['code', 'x']]));
    expect(bodyOf(r).error_description).toMatch(/token-exchange.*client_credentials/);
  });
});

describe('replay (jti): once within its lifetime, irrelevant after it', () => {
  test('the same assertion twice → the second is invalid_client', async () => {
    const once = assertion(RS, rsKey);
    expect((await post(clientCredentialsForm(once))).statusCode).toBe(200);
    const again = await post(clientCredentialsForm(once));
    expectOAuthError(again, 'invalid_client', 401);
    expect(bodyOf(again).error_description).toMatch(/jti/);
  });

  test('a new assertion reusing a jti before the first one expired → refused; after it expired → accepted', async () => {
    const jti = `reused-${Date.now()}`;
    expect((await post(clientCredentialsForm(assertion(RS, rsKey, { jti, exp: now() + 60 }))))).toMatchObject({ statusCode: 200 });
    nowMs += 59_000; // the first assertion still has 1 s to live
    expectOAuthError(await post(clientCredentialsForm(assertion(RS, rsKey, { jti, exp: now() + 60 }))), 'invalid_client', 401);
    nowMs += 2_000; // past the first assertion's exp: it could no longer be replayed, so its jti is free
    expect((await post(clientCredentialsForm(assertion(RS, rsKey, { jti, exp: now() + 60 }))))).toMatchObject({ statusCode: 200 });
    // …and now held by the new assertion until its own exp.
    expectOAuthError(await post(clientCredentialsForm(assertion(RS, rsKey, { jti, exp: now() + 60 }))), 'invalid_client', 401);
  });

  test('jtis are per client: two clients may use the same jti', async () => {
    const jti = `shared-${Date.now()}`;
    expect((await post(clientCredentialsForm(assertion(RS, rsKey, { jti })))).statusCode).toBe(200);
    expect((await post(clientCredentialsForm(assertion(ES, esKey, { jti })))).statusCode).toBe(200);
  });

  test('a refused assertion (scope) still uses up its jti: an assertion is presented once', async () => {
    const once = assertion(ES, esKey);
    expectOAuthError(await post(clientCredentialsForm(once, [['scope', 'system/Condition.rs']])), 'invalid_scope', 400);
    expectOAuthError(await post(clientCredentialsForm(once)), 'invalid_client', 401);
  });

  test('an expired or mis-addressed assertion is refused before the registry, JWKS or replay store are touched', async () => {
    const touched: string[] = [];
    const h = build({
      clientCredentials: {
        registry: { get: async () => { touched.push('registry'); return undefined; } },
        replay: { claim: async () => { touched.push('replay'); return true; } },
      },
    });
    expectOAuthError(await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey, { exp: now() - 5 })) })), 'invalid_client', 401);
    expectOAuthError(await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey, { aud: FHIR })) })), 'invalid_client', 401);
    expect(touched).toEqual([]);
  });

  test('a replay-store outage answers 503, never a token', async () => {
    const h = build({ clientCredentials: { replay: { claim: async () => { throw new DependencyError('ERR_DEPENDENCY_FAILED', 'assertion replay check failed (test)'); } } } });
    const r = await h(proxyEvent({ body: clientCredentialsForm(assertion(RS, rsKey)) }));
    expect(r.statusCode).toBe(503);
    expect(bodyOf(r)).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  });

  test('a registry outage answers 503', async () => {
    const h = build({ clientCredentials: { registry: { get: async () => { throw new DependencyError('ERR_DEPENDENCY_FAILED', 'client registry lookup failed (test)'); } } } });
    expect((await h(proxyEvent({ body: clientCredentialsForm(assertion(RS, rsKey)) }))).statusCode).toBe(503);
  });
});

describe('a JWKS-URL client rotates its key', () => {
  test('new key, new kid: fetched again, works; the withdrawn kid stops working', async () => {
    expect((await post(clientCredentialsForm(assertion(ES, esKey)))).statusCode).toBe(200);
    const fetchesBefore = clientJwks.fetches;
    const next = clientKey('ES384');
    clientJwks.keys = [next]; // the client rotates: publishes the new key, withdraws the old one
    const r = await post(clientCredentialsForm(assertion(ES, next)));
    expect(r.statusCode).toBe(200);
    expect(clientJwks.fetches - fetchesBefore).toBe(1);
    expect(effect(await authorizeBearer(bodyOf(r).access_token))).toEqual(['Allow']);
    // The cache now holds the new JWKS only.
    expectOAuthError(await post(clientCredentialsForm(assertion(ES, esKey))), 'invalid_client', 401);
  });

  test('during a rotation both keys are published and both work', async () => {
    const next = clientKey('ES384');
    clientJwks.keys = [esKey, next];
    expect((await post(clientCredentialsForm(assertion(ES, next)))).statusCode).toBe(200);
    expect((await post(clientCredentialsForm(assertion(ES, esKey)))).statusCode).toBe(200);
  });

  test('unknown kids are rate-limited: a spray costs one JWKS fetch per wait period', async () => {
    const h = build({ assertions: createAssertionVerifier({ unknownKidWaitSeconds: 10, fetcher: LOOPBACK_JWKS }) });
    expect((await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey)) }))).statusCode).toBe(200);
    const before = clientJwks.fetches;
    for (const kid of ['spray-1', 'spray-2', 'spray-3']) {
      expectOAuthError(await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey, {}, { kid })) })), 'invalid_client', 401);
    }
    expect(clientJwks.fetches - before).toBe(1);
    // Known keys keep working meanwhile.
    expect((await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey)) }))).statusCode).toBe(200);
  });

  test('a key withdrawn without a new kid appearing stops verifying once the cached JWKS is older than its max age', async () => {
    expect((await post(clientCredentialsForm(assertion(ES, esKey)))).statusCode).toBe(200);
    clientJwks.keys = [clientKey('ES384')]; // the old key is gone (compromised), but nobody uses a new kid
    expect((await post(clientCredentialsForm(assertion(ES, esKey)))).statusCode).toBe(200); // still cached
    nowMs += 301_000;
    expectOAuthError(await post(clientCredentialsForm(assertion(ES, esKey))), 'invalid_client', 401);
  });

  test('the default verifier (as the Lambda builds it) never fetches a client JWKS over plain HTTP, not even on loopback', async () => {
    const before = clientJwks.fetches;
    const h = build({ assertions: createAssertionVerifier() });
    const r = await h(proxyEvent({ body: clientCredentialsForm(assertion(ES, esKey)) }));
    expect(r.statusCode).toBe(401);
    expect(bodyOf(r)).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/JWKS could not be fetched/) });
    expect(clientJwks.fetches).toBe(before);
  });

  test('a JWKS that cannot be fetched → invalid_client', async () => {
    await putBackendClient(dynamo.client, TABLES.clients, registration('gone-vendor', { kind: 'jwks_uri', uri: 'http://127.0.0.1:1/jwks.json' }, ['system/*.rs']));
    const h = build();
    const r = await h(proxyEvent({ body: clientCredentialsForm(signAssertion(esKey, assertionClaims('gone-vendor', tokenUrl(), now()))) }));
    expect(r.statusCode).toBe(401);
    expect(bodyOf(r).error_description).toMatch(/JWKS could not be fetched/);
  });
});

describe('the authorizer keeps the two shapes of fhirgate tokens apart', () => {
  const sign = (claims: Record<string, unknown>) =>
    signAccessToken(signer, { iss: service.issuer, aud: FHIR, iat: now(), exp: now() + 300, jti: 'x', ...claims });

  test.each([
    ['patient/ scopes without act', { sub: RS, client_id: RS, scope: 'patient/*.rs', patient: 'pat-alice' }],
    ['system/ scopes with act', { sub: 'u-alice', client_id: 'api-server', act: { sub: 'api-server' }, scope: 'system/*.rs', patient: 'pat-alice' }],
    ['system/ token of a client not in FHIRGATE_BACKEND_CLIENT_IDS', { sub: UNLISTED, client_id: UNLISTED, scope: 'system/*.rs' }],
    ['system/ token whose sub is not its client', { sub: 'u-alice', client_id: RS, scope: 'system/*.rs' }],
    ['system/ token with a patient claim', { sub: RS, client_id: RS, scope: 'system/*.rs', patient: 'pat-alice' }],
    ['system/ mixed with user/', { sub: RS, client_id: RS, scope: 'system/*.rs user/*.rs' }],
    ['no scope', { sub: RS, client_id: RS }],
  ])('%s → 401', async (_name, claims) => {
    await expect(authorizeBearer(await sign(claims))).rejects.toThrow('Unauthorized');
  });

  test('system/ scopes are capped by the system ceiling', async () => {
    const capped = createAuthorizerHandler({
      verifier: createLoopbackVerifier({ issuers: [{ kind: 'fhirgate-exchange', issuer: service.issuer, jwksUri: service.jwksUri, audience: FHIR }], clientIds: [] }),
      links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
      clients: CLIENTS,
      settings: { ...DEFAULT_SETTINGS, systemCeilingScopes: ['system/Observation.rs'] },
      log: () => undefined,
    });
    const r = await capped({ type: 'TOKEN', methodArn: ARN, authorizationToken: `Bearer ${await sign({ sub: RS, client_id: RS, scope: 'system/*.rs' })}` });
    expect(r.context).toMatchObject({ kind: 'system', scopes: 'system/Observation.rs' });
  });
});
