/**
 * The broker's client secret as a SecretSource (AWS: Secrets Manager through the Parameters and
 * Secrets extension): read before a sign-in starts and again at the callback, sent to Cognito as
 * HTTP Basic, and when it cannot be read, the browser flow answers `temporarily_unavailable`
 * (a 503 in OAuth's words, RFC 6749 §4.1.2.1) instead of failing the function; the next request
 * tries again. The handlers run with in-memory registry, launch store and links; Cognito's token
 * endpoint is a fake `fetch`.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { DEFAULT_APP_LAUNCH_POLICY, AppClient } from '../../functions/core/app-launch';
import { DependencyError } from '../../functions/core/errors';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { TokenVerifier } from '../../functions/adapters/verifier';
import { createAuthorizeHandlers, SESSION_COOKIE } from '../../functions/token-exchange/authorize';
import type { LaunchStore, SessionRecord } from '../../functions/token-exchange/launch-store';
import { createCognitoBroker } from '../../functions/token-exchange/sign-in-broker';
import { pkcePair } from '../support/app-launch-client';
import { proxyEvent } from './support';

const ISSUER = 'https://api.example.test/prod/auth';
const FHIR_BASE = 'https://api.example.test/prod/fhir';
const COGNITO = 'https://fhirgate-123.auth.eu-west-1.amazoncognito.com';
const PORTAL: AppClient = { clientId: 'patient-portal', name: 'Portal', status: 'active', redirectUris: ['https://portal.example.test/'], scopes: ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'] };

/** A launch store in memory (sessions only matter here; codes are counted). */
function memoryStore(): LaunchStore & { codes: number } {
  const sessions = new Map<string, SessionRecord>();
  return {
    codes: 0,
    async putSession(id, s) {
      sessions.set(id, s);
    },
    async getSession(id, now) {
      const s = sessions.get(id);
      return s && s.exp > now ? s : undefined;
    },
    async deleteSession(id) {
      sessions.delete(id);
    },
    async putCode() {
      this.codes += 1;
    },
    redeemCode: async () => undefined,
    putRefresh: async () => undefined,
    redeemRefresh: async () => undefined,
    revokeFamily: async () => undefined,
    familyRevoked: async () => false,
  };
}

/** A secret that can be made unreadable, counting reads. */
function flakySecret(value: string) {
  const state = { down: false, reads: 0, value };
  const read = async () => {
    state.reads += 1;
    if (state.down) throw new DependencyError('ERR_DEPENDENCY_FAILED', 'secret read (Parameters and Secrets extension) failed (Error)');
    return state.value;
  };
  return Object.assign(state, { read });
}

function setup() {
  const secret = flakySecret('s3cret/+value');
  const basics: string[] = [];
  const cognitoFetch: typeof fetch = async (_url, init) => {
    basics.push(String((init?.headers as Record<string, string>).authorization));
    return new Response(JSON.stringify({ access_token: 'cognito-access-token' }), { status: 200 });
  };
  const verifier: TokenVerifier = {
    verifyToken: async () => ({ claims: { sub: 'u-alice', username: 'alice', client_id: 'broker', 'cognito:groups': ['patient'] }, issuer: { kind: 'cognito', userPoolId: 'eu-west-1_x' } }),
    verify: async () => ({}),
    hydrate: async () => undefined,
  };
  const store = memoryStore();
  const handlers = createAuthorizeHandlers({
    apps: { find: async (id) => (id === PORTAL.clientId ? PORTAL : undefined) },
    store,
    broker: createCognitoBroker({ domain: COGNITO, clientId: 'broker', clientSecret: secret.read, callbackUrl: `${ISSUER}/callback`, verifier, fetch: cognitoFetch }),
    links: { get: async () => ({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] }) },
    settings: DEFAULT_SETTINGS,
    policy: { ...DEFAULT_APP_LAUNCH_POLICY, issuer: ISSUER, audience: FHIR_BASE },
    log: () => undefined,
  });
  return { secret, basics, store, handlers };
}

const authorizeQuery = () => ({
  response_type: 'code',
  client_id: PORTAL.clientId,
  redirect_uri: PORTAL.redirectUris[0]!,
  scope: 'openid fhirUser launch/patient patient/*.rs',
  state: 'app-state-1',
  aud: FHIR_BASE,
  code_challenge: pkcePair().challenge,
  code_challenge_method: 'S256',
});

const location = (r: APIGatewayProxyResult) => new URL(String(r.headers?.Location ?? r.headers?.location));
const sessionCookie = (r: APIGatewayProxyResult) => String(r.headers?.['Set-Cookie']).match(new RegExp(`${SESSION_COOKIE}=([^;]+)`))![1]!;

test('authorize reads the secret before sending the user to Cognito; the callback sends it as HTTP Basic (form-urlencoded first)', async () => {
  const { handlers, secret, basics, store } = setup();
  const started = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: authorizeQuery(), body: null }));
  expect(started.statusCode).toBe(302);
  expect(location(started).origin).toBe(COGNITO);
  expect(secret.reads).toBe(1);
  const state = location(started).searchParams.get('state')!;
  const back = await handlers.callback(
    proxyEvent({ method: 'GET', resource: '/auth/callback', query: { code: 'cognito-code', state }, headers: { Cookie: `${SESSION_COOKIE}=${sessionCookie(started)}` }, body: null }),
  );
  expect(location(back).searchParams.get('code')).toBeTruthy();
  expect(store.codes).toBe(1);
  // RFC 6749 §2.3.1: "/" and "+" are form-urlencoded before Basic.
  expect(basics).toEqual([`Basic ${Buffer.from('broker:s3cret%2F%2Bvalue').toString('base64')}`]);
});

test('secret unreadable at authorize → back to the app with temporarily_unavailable, no session, no sign-in; the next request succeeds', async () => {
  const { handlers, secret } = setup();
  secret.down = true;
  const refused = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: authorizeQuery(), body: null }));
  expect(refused.statusCode).toBe(302);
  expect(location(refused).origin + location(refused).pathname).toBe(PORTAL.redirectUris[0]);
  expect(Object.fromEntries(location(refused).searchParams)).toEqual({ error: 'temporarily_unavailable', state: 'app-state-1' });
  expect(refused.headers?.['Set-Cookie']).toBeUndefined();
  secret.down = false;
  const retried = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: authorizeQuery(), body: null }));
  expect(location(retried).origin).toBe(COGNITO);
});

test('secret unreadable at the callback → temporarily_unavailable to the app, Cognito not called', async () => {
  const { handlers, secret, basics, store } = setup();
  const started = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: authorizeQuery(), body: null }));
  secret.down = true;
  const state = location(started).searchParams.get('state')!;
  const back = await handlers.callback(
    proxyEvent({ method: 'GET', resource: '/auth/callback', query: { code: 'cognito-code', state }, headers: { Cookie: `${SESSION_COOKIE}=${sessionCookie(started)}` }, body: null }),
  );
  expect(Object.fromEntries(location(back).searchParams)).toEqual({ error: 'temporarily_unavailable', state: 'app-state-1' });
  expect(basics).toEqual([]);
  expect(store.codes).toBe(0);
});

test('an unknown client is refused on fhirgate\'s own page before the secret is read (nothing to send back to)', async () => {
  const { handlers, secret } = setup();
  secret.down = true;
  const page = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: { ...authorizeQuery(), client_id: 'nobody' }, body: null }));
  expect(page.statusCode).toBe(400);
  expect(secret.reads).toBe(0);
});

test('a rotated value is used from the next sign-in on (read at each use, not at cold start)', async () => {
  const { handlers, secret, basics } = setup();
  const signIn = async () => {
    const started = await handlers.authorize(proxyEvent({ method: 'GET', resource: '/auth/authorize', query: authorizeQuery(), body: null }));
    const state = location(started).searchParams.get('state')!;
    await handlers.callback(proxyEvent({ method: 'GET', resource: '/auth/callback', query: { code: 'c', state }, headers: { Cookie: `${SESSION_COOKIE}=${sessionCookie(started)}` }, body: null }));
  };
  await signIn();
  secret.value = 'rotated';
  await signIn();
  expect(basics.map((b) => Buffer.from(b.slice('Basic '.length), 'base64').toString())).toEqual(['broker:s3cret%2F%2Bvalue', 'broker:rotated']);
});
