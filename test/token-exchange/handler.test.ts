/**
 * The token service end to end in-process: Cognito-shaped tokens from a JWKS over HTTP, link
 * records in dynalite, the exchange signing with a local P-256 key and publishing its JWKS over
 * HTTP, and the real authorizer trusting that JWKS. Nothing is mocked.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult } from 'aws-lambda';
import { createAuthorizerHandler, AuthorizerHandler } from '../../functions/authorizer/handler';
import { CachedLinkStore, DynamoLinkStore, LinkStore } from '../../functions/adapters/link-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DependencyError } from '../../functions/core/errors';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { ExchangePolicy, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN } from '../../functions/core/token-exchange';
import { createTokenServiceHandler, ProxyHandler } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import type { JwtSigner } from '../../functions/token-exchange/signer';
import type { LogRecord } from '../../functions/common/log';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { bodyOf, decodeJwt, form, proxyEvent, startTokenServiceServer, TokenServiceServer } from './support';

const WEB = 'web';
const API_SERVER = 'api-server';
const ANALYTICS = 'analytics';
const FHIR = 'https://api.example.test/prod/fhir';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/fhir/Observation';
const CLIENTS = { userClientIds: [WEB], machineClientIds: [API_SERVER, ANALYTICS] };

let cognito: TestIssuer;
let dynamo: TestDynamo;
let service: TokenServiceServer;
let signer: JwtSigner;
let logs: LogRecord[];
let exchange: ProxyHandler;
let authorize: AuthorizerHandler;

const userToken = (sub: string, extra: Record<string, unknown> = {}) =>
  cognito.token({ sub, username: sub, client_id: WEB, scope: 'aws.cognito.signin.user.admin', ...extra });
const machineToken = (scope = 'fhirgate/delegate', clientId = API_SERVER) => cognito.token({ sub: clientId, client_id: clientId, scope });

function policy(): ExchangePolicy {
  return { issuer: service.issuer, audience: FHIR, delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 };
}

function buildExchange(links: LinkStore = new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), 0)): ProxyHandler {
  return createTokenServiceHandler({
    // The exchange trusts Cognito only: exchanged tokens are never subject or actor tokens.
    verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: [WEB, API_SERVER, ANALYTICS] }),
    links,
    clients: CLIENTS,
    settings: DEFAULT_SETTINGS,
    policy: policy(),
    signer,
    log: (r) => logs.push(r),
  });
}

function buildAuthorizer(): AuthorizerHandler {
  return createAuthorizerHandler({
    verifier: createLoopbackVerifier({
      issuers: [
        { kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri },
        { kind: 'fhirgate-exchange', issuer: service.issuer, jwksUri: service.jwksUri, audience: FHIR },
      ],
      clientIds: [WEB, API_SERVER, ANALYTICS],
    }),
    links: new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), 0),
    clients: CLIENTS,
    settings: DEFAULT_SETTINGS,
    log: (r) => logs.push(r),
  });
}

async function seedLinks(): Promise<void> {
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
  await dynamo.putLink({ sub: 'u-dana', role: 'guardian', fhirUser: 'RelatedPerson/rp-dana', patients: ['pat-carol', 'pat-dave'] });
  await dynamo.putLink({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob'] });
}

beforeAll(async () => {
  cognito = await startTestIssuer();
  dynamo = await startDynalite();
  service = await startTokenServiceServer();
  signer = createLocalSigner();
  await seedLinks();
});
afterAll(async () => {
  await service.close();
  await cognito.close();
  await dynamo.close();
});
beforeEach(() => {
  logs = [];
  exchange = buildExchange();
  service.handler = exchange;
  authorize = buildAuthorizer();
});

/** The form the API server sends, with parameters added or replaced. */
function exchangeForm(subject: string, extra: [string, string][] = [], actor = machineToken()): string {
  return form([
    ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
    ['subject_token', subject],
    ['subject_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ['actor_token', actor],
    ['actor_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ...extra,
  ]);
}

const post = (body: string | null, options: Parameters<typeof proxyEvent>[0] = {}) => exchange(proxyEvent({ body, ...options }));

async function exchanged(subject: string, extra: [string, string][] = []): Promise<string> {
  const r = await post(exchangeForm(subject, extra));
  expect(bodyOf(r)).toMatchObject({ token_type: 'Bearer' });
  return bodyOf(r).access_token as string;
}

const effect = (r: APIGatewayAuthorizerResult) => r.policyDocument.Statement.map((s) => (s as { Effect: string }).Effect);
const authorizeBearer = (token: string) => authorize({ type: 'TOKEN', methodArn: ARN, authorizationToken: `Bearer ${token}` });

function expectOAuthError(r: APIGatewayProxyResult, error: string, status = 400): void {
  expect({ status: r.statusCode, error: bodyOf(r).error }).toEqual({ status, error });
  expect(typeof bodyOf(r).error_description).toBe('string');
  expect(r.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

describe('a full exchange, then the authorizer', () => {
  test('the API server gets a 5-minute token for the signed-in patient; the authorizer allows it as delegated', async () => {
    const subject = userToken('u-alice');
    const r = await post(exchangeForm(subject));
    expect(r.statusCode).toBe(200);
    expect(r.headers).toMatchObject({ 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const body = bodyOf(r);
    expect(body).toEqual({
      access_token: expect.any(String),
      issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/*.rs',
      patient: 'pat-alice',
    });
    const { header, payload } = decodeJwt(body.access_token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid });
    expect(payload).toEqual({
      iss: service.issuer,
      sub: 'u-alice',
      aud: FHIR,
      client_id: API_SERVER,
      act: { sub: API_SERVER },
      scope: 'patient/*.rs',
      patient: 'pat-alice',
      fhirUser: 'Patient/pat-alice',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: expect.any(Number),
      exp: payload.iat + 300,
    });

    const fetchesBefore = service.jwksFetches;
    const allowed = await authorizeBearer(body.access_token);
    expect(effect(allowed)).toEqual(['Allow']);
    expect(allowed.principalId).toBe('u-alice');
    expect(allowed.context).toEqual({
      kind: 'delegated',
      sub: 'u-alice',
      actor: API_SERVER,
      clientId: API_SERVER,
      fhirUser: 'Patient/pat-alice',
      patients: 'pat-alice',
      scopes: 'patient/*.rs',
    });
    expect(service.jwksFetches - fetchesBefore).toBe(1); // the authorizer fetched the published JWKS over HTTP
    expect(logs).toContainEqual(expect.objectContaining({ event: 'token-exchange.issued', sub: 'u-alice', actor: API_SERVER, patient: 'pat-alice' }));
    // No token, issued or presented, is ever logged.
    for (const t of [subject, body.access_token]) expect(JSON.stringify(logs)).not.toContain(t.split('.')[2]);
  });

  test('a narrower scope and a chosen patient (guardian of two)', async () => {
    const token = await exchanged(userToken('u-dana'), [['patient', 'pat-dave'], ['scope', 'patient/Observation.rs'], ['resource', FHIR]]);
    expect(decodeJwt(token).payload).toMatchObject({ patient: 'pat-dave', scope: 'patient/Observation.rs', fhirUser: 'RelatedPerson/rp-dana' });
    const r = await authorizeBearer(token);
    expect(r.context).toMatchObject({ kind: 'delegated', sub: 'u-dana', actor: API_SERVER, patients: 'pat-dave', scopes: 'patient/Observation.rs' });
  });

  test('never beyond the subject token: a user token with 45 s left gives expires_in ≤ 45', async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await post(exchangeForm(userToken('u-alice', { exp: now + 45 })));
    expect(bodyOf(r).expires_in).toBeLessThanOrEqual(45);
    expect(decodeJwt(bodyOf(r).access_token).payload.exp).toBe(now + 45);
  });

  test('the user unlinked after the exchange → the authorizer denies (403)', async () => {
    const token = await exchanged(userToken('u-alice'));
    expect(effect(await authorizeBearer(token))).toEqual(['Allow']);
    await dynamo.client.send(new DeleteItemCommand({ TableName: dynamo.tableName, Key: { sub: { S: 'u-alice' } } }));
    try {
      const denied = await authorizeBearer(token);
      expect(effect(denied)).toEqual(['Deny']);
      expect(denied.context).toMatchObject({ code: 'ERR_NO_LINK' });
    } finally {
      await seedLinks();
    }
  });

  test('the patient removed from the guardian after the exchange → denied', async () => {
    const token = await exchanged(userToken('u-dana'), [['patient', 'pat-dave']]);
    await dynamo.putLink({ sub: 'u-dana', role: 'guardian', fhirUser: 'RelatedPerson/rp-dana', patients: ['pat-carol'] });
    try {
      expect(effect(await authorizeBearer(token))).toEqual(['Deny']);
    } finally {
      await seedLinks();
    }
    expect(effect(await authorizeBearer(token))).toEqual(['Allow']);
  });

  test('an issued token whose actor left the machine allow-list → 401', async () => {
    const token = await exchanged(userToken('u-alice'));
    const narrower = createAuthorizerHandler({
      verifier: createLoopbackVerifier({ issuers: [{ kind: 'fhirgate-exchange', issuer: service.issuer, jwksUri: service.jwksUri, audience: FHIR }], clientIds: [WEB, API_SERVER] }),
      links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
      clients: { userClientIds: [WEB], machineClientIds: [ANALYTICS] },
      settings: DEFAULT_SETTINGS,
      log: (r) => logs.push(r),
    });
    await expect(narrower({ type: 'TOKEN', methodArn: ARN, authorizationToken: `Bearer ${token}` })).rejects.toThrow('Unauthorized');
  });
});

describe('refusals (RFC 6749 §5.2 / RFC 8693 §2.2.2)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string>, string][] = [
    ['ID token as subject', async () => exchangeForm(userToken('u-alice', { token_use: 'id', aud: WEB })), 'invalid_grant'],
    ['machine token as subject', async () => exchangeForm(machineToken('system/*.rs')), 'invalid_grant'],
    ['expired subject', async () => exchangeForm(userToken('u-alice', { iat: now() - 7200, exp: now() - 3600 })), 'invalid_grant'],
    ['subject from an untrusted issuer', async () => exchangeForm(userToken('u-alice', { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil' })), 'invalid_grant'],
    ['subject not a JWT', async () => exchangeForm('not-a-jwt'), 'invalid_grant'],
    ['unlinked user', async () => exchangeForm(userToken('u-nobody')), 'invalid_grant'],
    ['practitioner: only user/ scopes, nothing delegable', async () => exchangeForm(userToken('u-doc')), 'invalid_scope'],
    ['guardian of two without patient', async () => exchangeForm(userToken('u-dana')), 'invalid_request'],
    ['patient not the user\'s', async () => exchangeForm(userToken('u-alice'), [['patient', 'pat-bob']]), 'invalid_scope'],
    ['scope wider than delegable', async () => exchangeForm(userToken('u-alice'), [['scope', 'patient/*.cruds']]), 'invalid_scope'],
    ['system/ scope requested', async () => exchangeForm(userToken('u-alice'), [['scope', 'system/*.rs']]), 'invalid_scope'],
    ['resource of another API', async () => exchangeForm(userToken('u-alice'), [['resource', 'https://payments.example.test/']]), 'invalid_target'],
    ['audience of another API', async () => exchangeForm(userToken('u-alice'), [['audience', 'payments']]), 'invalid_target'],
    ['user token as actor', async () => exchangeForm(userToken('u-alice'), [], userToken('u-dana')), 'invalid_request'],
    ['actor without the delegation scope', async () => exchangeForm(userToken('u-alice'), [], machineToken('system/*.rs', ANALYTICS)), 'unauthorized_client'],
    ['expired actor', async () => exchangeForm(userToken('u-alice'), [], cognito.token({ sub: API_SERVER, client_id: API_SERVER, scope: 'fhirgate/delegate', exp: now() - 10 })), 'invalid_request'],
    ['exchanged token as subject (no chaining)', async () => exchangeForm(await exchanged(userToken('u-alice'))), 'invalid_grant'],
    ['exchanged token as actor (no chaining)', async () => exchangeForm(userToken('u-alice'), [], await exchanged(userToken('u-alice'))), 'invalid_request'],
    ['unsupported grant_type', async () => form([['grant_type', 'client_credentials'], ['scope', 'fhirgate/delegate']]), 'unsupported_grant_type'],
  ];
  test.each(cases)('%s → %s', async (_name, body, error) => {
    const r = await post(await body());
    expectOAuthError(r, error);
    expect(logs.at(-1)).toMatchObject({ event: 'token-exchange.refused', error });
  });

  test('a link-store outage answers 503, never a token', async () => {
    const failing = buildExchange({ get: async () => { throw new DependencyError('ERR_DEPENDENCY_FAILED', 'link lookup failed (test)'); } });
    const r = await failing(proxyEvent({ body: exchangeForm(userToken('u-alice')) }));
    expect(r.statusCode).toBe(503);
    expect(bodyOf(r)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(bodyOf(r).access_token).toBeUndefined();
  });

  test('a signer failure answers 503', async () => {
    const broken: JwtSigner = { ...signer, sign: async () => { throw new DependencyError('ERR_DEPENDENCY_FAILED', 'KMS Sign failed (test)'); } };
    const h = createTokenServiceHandler({
      verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: [WEB, API_SERVER] }),
      links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
      clients: CLIENTS,
      settings: DEFAULT_SETTINGS,
      policy: policy(),
      signer: broken,
      log: (r) => logs.push(r),
    });
    expect((await h(proxyEvent({ body: exchangeForm(userToken('u-alice')) }))).statusCode).toBe(503);
  });
});

describe('form edge cases', () => {
  test('duplicate subject_token → invalid_request', async () => {
    const body = `${exchangeForm(userToken('u-alice'))}&subject_token=${userToken('u-dana')}`;
    expectOAuthError(await post(body), 'invalid_request');
  });

  test('duplicate grant_type → invalid_request', async () => {
    expectOAuthError(await post(`${exchangeForm(userToken('u-alice'))}&grant_type=${encodeURIComponent(GRANT_TYPE_TOKEN_EXCHANGE)}`), 'invalid_request');
  });

  test('a JSON body → invalid_request', async () => {
    const json = JSON.stringify({ grant_type: GRANT_TYPE_TOKEN_EXCHANGE, subject_token: userToken('u-alice'), subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: machineToken(), actor_token_type: TOKEN_TYPE_ACCESS_TOKEN });
    expectOAuthError(await post(json, { headers: { 'Content-Type': 'application/json' } }), 'invalid_request');
  });

  test('a form body labelled as JSON → invalid_request', async () => {
    expectOAuthError(await post(exchangeForm(userToken('u-alice')), { headers: { 'Content-Type': 'application/json' } }), 'invalid_request');
  });

  test('no Content-Type → invalid_request', async () => {
    expectOAuthError(await post(exchangeForm(userToken('u-alice')), { headers: {} }), 'invalid_request');
  });

  test('two Content-Type headers → invalid_request', async () => {
    const ct = 'application/x-www-form-urlencoded';
    expectOAuthError(await post(exchangeForm(userToken('u-alice')), { headers: { 'Content-Type': ct }, multiValueHeaders: { 'Content-Type': [ct, ct] } }), 'invalid_request');
  });

  test('charset=ISO-8859-1 → invalid_request; charset=UTF-8 and any header case are fine', async () => {
    expectOAuthError(await post(exchangeForm(userToken('u-alice')), { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' } }), 'invalid_request');
    const ok = await post(exchangeForm(userToken('u-alice')), { headers: { 'CONTENT-TYPE': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' } });
    expect(ok.statusCode).toBe(200);
  });

  test('a body over 64 KiB → invalid_request', async () => {
    const big = `${exchangeForm(userToken('u-alice'))}&padding=${'a'.repeat(64 * 1024)}`;
    expectOAuthError(await post(big), 'invalid_request');
  });

  test('parameters in the query string → invalid_request', async () => {
    expectOAuthError(await post(exchangeForm(userToken('u-alice')), { query: { subject_token: 'x' } }), 'invalid_request');
  });

  test('an empty body → invalid_request (no grant_type)', async () => {
    expectOAuthError(await post(null), 'invalid_request');
  });

  test('a base64-encoded form (API Gateway binary passthrough) is read', async () => {
    const r = await post(Buffer.from(exchangeForm(userToken('u-alice'))).toString('base64'), { isBase64Encoded: true });
    expect(r.statusCode).toBe(200);
  });

  test('GET /auth/token → 405 with Allow: POST', async () => {
    const r = await exchange(proxyEvent({ method: 'GET', body: null }));
    expect(r.statusCode).toBe(405);
    expect(r.headers).toMatchObject({ Allow: 'POST' });
  });

  test('an unknown route → 404', async () => {
    expect((await exchange(proxyEvent({ resource: '/auth/authorize' }))).statusCode).toBe(404);
  });
});

describe('GET /auth/jwks.json', () => {
  test('publishes the public key, cacheable, no private parts', async () => {
    const res = await fetch(service.jwksUri);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: signer.kid, alg: 'ES256', use: 'sig' }]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  test('a retiring key stays published next to the active one', async () => {
    const retiring = createLocalSigner();
    const h = createTokenServiceHandler({
      verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: [WEB] }),
      links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
      clients: CLIENTS,
      settings: DEFAULT_SETTINGS,
      policy: policy(),
      signer,
      retiringKeys: [retiring],
      log: () => undefined,
    });
    const r = await h(proxyEvent({ method: 'GET', resource: '/auth/jwks.json', body: null }));
    expect(bodyOf(r).keys.map((k: { kid: string }) => k.kid)).toEqual([signer.kid, retiring.kid]);
    expect((await h(proxyEvent({ method: 'POST', resource: '/auth/jwks.json' }))).statusCode).toBe(405);
  });
});
