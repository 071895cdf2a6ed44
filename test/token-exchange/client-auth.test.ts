/**
 * Client authentication at /auth/token (RFC 6749 §2.3, §5.2): whatever a request presents is
 * verified, on the exchange and on client_credentials, and secret-based client_credentials is
 * forwarded to Cognito (the one advertised token endpoint accepts every advertised method).
 *
 * Cognito's token endpoint is an in-memory stand-in that checks secrets like Cognito does; the
 * interop suite (test/interop) drives the real local stack's Cognito emulator instead.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { CachedLinkStore, DynamoLinkStore } from '../../functions/adapters/link-store';
import { presentedClient } from '../../functions/core/client-auth';
import { OAuthError } from '../../functions/core/oauth-error';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN } from '../../functions/core/token-exchange';
import type { CognitoTokenEndpoint } from '../../functions/token-exchange/cognito-token-endpoint';
import { createTokenServiceHandler, ProxyHandler } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { bodyOf, form, proxyEvent } from './support';

const WEB = 'web';
const API_SERVER = 'api-server';
const ANALYTICS = 'analytics';
const SECRETS: Record<string, string> = { [API_SERVER]: 'api-secret', [ANALYTICS]: 'analytics-secret' };
const ISSUER = 'https://api.example.test/prod/auth';
const FHIR = 'https://api.example.test/prod/fhir';

let cognito: TestIssuer;
let dynamo: TestDynamo;
let forwarded: { form: Record<string, string>; authorization?: string }[];

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Cognito's /oauth2/token as far as client authentication goes: Basic or form secrets, checked. */
const cognitoEndpoint: CognitoTokenEndpoint = {
  async post(body, authorization) {
    forwarded.push({ form: Object.fromEntries(body), ...(authorization ? { authorization } : {}) });
    const [id, secret] = authorization
      ? Buffer.from(authorization.slice('Basic '.length), 'base64').toString().split(':')
      : [body.get('client_id') ?? '', body.get('client_secret') ?? ''];
    if (SECRETS[id!] === undefined || SECRETS[id!] !== secret) return { status: 401, body: { error: 'invalid_client' } };
    return { status: 200, body: { access_token: `cognito-token-for-${id}`, token_type: 'Bearer', expires_in: 3600 } };
  },
};

function build(withCognito = true): ProxyHandler {
  return createTokenServiceHandler({
    verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: cognito.issuer, jwksUri: cognito.jwksUri }], clientIds: [WEB, API_SERVER, ANALYTICS] }),
    links: new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), 0),
    clients: { userClientIds: [WEB], machineClientIds: [API_SERVER, ANALYTICS] },
    settings: DEFAULT_SETTINGS,
    policy: { issuer: ISSUER, audience: FHIR, delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 },
    signer: createLocalSigner(),
    log: () => {},
    ...(withCognito ? { cognito: cognitoEndpoint } : {}),
  });
}

beforeAll(async () => {
  cognito = await startTestIssuer();
  dynamo = await startDynalite();
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
});
afterAll(async () => {
  await cognito.close();
  await dynamo.close();
});
beforeEach(() => {
  forwarded = [];
});

const userToken = () => cognito.token({ sub: 'u-alice', username: 'alice', client_id: WEB, scope: 'aws.cognito.signin.user.admin' });
const actorToken = (clientId = API_SERVER) => cognito.token({ sub: clientId, client_id: clientId, scope: 'fhirgate/delegate' });
const exchangeForm = (extra: [string, string][] = [], actor?: string) =>
  form([
    ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
    ['subject_token', userToken()],
    ['subject_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ['actor_token', actor ?? actorToken()],
    ['actor_token_type', TOKEN_TYPE_ACCESS_TOKEN],
    ...extra,
  ]);
const post = (handler: ProxyHandler, body: string, authorization?: string) =>
  handler(proxyEvent({ body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(authorization ? { Authorization: authorization } : {}) } }));
const answer = (r: APIGatewayProxyResult) => ({ status: r.statusCode, error: bodyOf(r).error as string | undefined, token: typeof bodyOf(r).access_token === 'string' });

describe('the exchange verifies presented client authentication', () => {
  test.each<[string, [string, string][], string | undefined, { status: number; error?: string; token: boolean }]>([
    // no client authentication: the actor_token alone names the client (RFC 8693 §2.1 allows it)
    ['none', [], undefined, { status: 200, token: true }],
    // Basic api-server:WRONG — the issue's example: the secret is checked with Cognito, and fails
    ['Basic with a wrong secret', [], basic(API_SERVER, 'WRONG'), { status: 401, error: 'invalid_client', token: false }],
    ['Basic with the right secret of the actor', [], basic(API_SERVER, 'api-secret'), { status: 200, token: true }],
    // authenticated, but not the client the actor_token was issued to
    ['Basic with the right secret of another client', [], basic(ANALYTICS, 'analytics-secret'), { status: 400, error: 'invalid_grant', token: false }],
    ['client_secret_post, wrong secret', [['client_id', API_SERVER], ['client_secret', 'nope']], undefined, { status: 401, error: 'invalid_client', token: false }],
    ['client_secret_post, right secret', [['client_id', API_SERVER], ['client_secret', 'api-secret']], undefined, { status: 200, token: true }],
    ['client_id alone naming another client', [['client_id', ANALYTICS]], undefined, { status: 400, error: 'invalid_grant', token: false }],
    ['client_id alone naming the actor', [['client_id', API_SERVER]], undefined, { status: 200, token: true }],
    ['a client_assertion (backend clients are never actors)', [['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'], ['client_assertion', 'a.b.c']], undefined, { status: 401, error: 'invalid_client', token: false }],
    ['Basic and client_secret together', [['client_secret', 'api-secret']], basic(API_SERVER, 'api-secret'), { status: 400, error: 'invalid_request', token: false }],
    ['a Bearer header instead of client credentials', [], 'Bearer abc', { status: 401, error: 'invalid_client', token: false }],
  ])('%s', async (_name, extra, authorization, expected) => {
    expect(answer(await post(build(), exchangeForm(extra), authorization))).toEqual(expected);
  });

  test('invalid_client carries a WWW-Authenticate challenge and no-store (RFC 6749 §5.2)', async () => {
    const r = await post(build(), exchangeForm(), basic(API_SERVER, 'WRONG'));
    expect(r.headers).toMatchObject({ 'WWW-Authenticate': 'Basic realm="fhirgate"', 'Cache-Control': 'no-store' });
  });

  test('without a Cognito endpoint to check it, a presented secret is refused, never ignored', async () => {
    expect(answer(await post(build(false), exchangeForm(), basic(API_SERVER, 'api-secret')))).toEqual({ status: 401, error: 'invalid_client', token: false });
  });
});

describe('client_credentials with a client secret at /auth/token', () => {
  test('Basic is forwarded to Cognito unchanged and its token comes back', async () => {
    const r = await post(build(), form([['grant_type', 'client_credentials'], ['scope', 'fhirgate/delegate']]), basic(API_SERVER, 'api-secret'));
    expect({ status: r.statusCode, body: bodyOf(r) }).toEqual({ status: 200, body: { access_token: `cognito-token-for-${API_SERVER}`, token_type: 'Bearer', expires_in: 3600 } });
    expect(forwarded).toEqual([{ form: { grant_type: 'client_credentials', scope: 'fhirgate/delegate' }, authorization: basic(API_SERVER, 'api-secret') }]);
    expect(r.headers).toMatchObject({ 'Cache-Control': 'no-store' });
  });

  test('a wrong secret → Cognito\'s invalid_client, 401 with the challenge (not invalid_request)', async () => {
    const r = await post(build(), form([['grant_type', 'client_credentials']]), basic(API_SERVER, 'WRONG'));
    expect(answer(r)).toEqual({ status: 401, error: 'invalid_client', token: false });
    expect(r.headers).toMatchObject({ 'WWW-Authenticate': 'Basic realm="fhirgate"' });
  });

  test('with neither Cognito forwarding nor backend clients, client_credentials is not offered → unsupported_grant_type', async () => {
    const r = await post(build(false), form([['grant_type', 'client_credentials']]), basic(API_SERVER, 'api-secret'));
    expect(answer(r)).toEqual({ status: 400, error: 'unsupported_grant_type', token: false });
  });

  test('no client authentication at all → invalid_client', async () => {
    expect(answer(await post(build(), form([['grant_type', 'client_credentials']])))).toEqual({ status: 401, error: 'invalid_client', token: false });
    expect(forwarded).toEqual([]);
  });
});

describe('presentedClient (pure)', () => {
  const code = (f: () => unknown) => {
    try {
      f();
      return 'ok';
    } catch (err) {
      return err instanceof OAuthError ? err.code : 'threw';
    }
  };
  test.each<[string, [string, string][], string[], string]>([
    ['two Authorization headers', [], [basic('a', 'b'), basic('a', 'b')], 'invalid_request'],
    ['Basic whose client_id differs from the form', [['client_id', 'other']], [basic('a', 'b')], 'invalid_client'],
    ['Basic without a colon', [], [`Basic ${Buffer.from('nocolon').toString('base64')}`], 'invalid_client'],
    ['client_secret without client_id', [['client_secret', 's']], [], 'invalid_client'],
    ['client_secret and client_assertion', [['client_id', 'a'], ['client_secret', 's'], ['client_assertion', 'x']], [], 'invalid_request'],
    ['form-urlencoded Basic (RFC 6749 §2.3.1)', [], [basic('my%20client', 's%3Acret')], 'ok'],
  ])('%s', (_name, params, authorization, expected) => {
    expect(code(() => presentedClient(params, authorization))).toBe(expected);
  });
  test('decodes RFC 6749 §2.3.1 Basic credentials', () => {
    expect(presentedClient([], [basic('my%20client', 's%3Acret')])).toEqual({ kind: 'secret', method: 'client_secret_basic', clientId: 'my client', secret: 's:cret' });
  });
});
