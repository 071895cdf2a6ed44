/**
 * fhirgate as a SMART App Launch authorization server, over HTTP against the real local stack
 * (cognito-local behind the local managed login, dynalite, the FHIR store, the gateway emulation):
 * the standalone launch of each demo user, and every refusal the issue lists. Each case names the
 * request it sends; the token service's clock is moved to expire codes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../functions/adapters/dynamo-client';
import type { LogRecord } from '../../functions/common/log';
import { PORTAL_CLIENT_ID } from '../../local/stack/apps';
import { RunningStack, startStack } from '../../local/stack/stack';
import { authorizeUrl, LaunchBrowser, LaunchParams, pickerChoices, redirectParams, signInAt } from '../support/app-launch-client';

jest.setTimeout(120_000);

let stack: RunningStack;
let dir: string;
let clockOffsetMs = 0;
const logs: LogRecord[] = [];

beforeAll(async () => {
  // The stack runs in this process (its clock is the test's); its FHIR store child needs tsx.
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(require.resolve('tsx')).href}`.trim();
  dir = await mkdtemp(join(tmpdir(), 'fhirgate-launch-'));
  stack = await startStack({
    dir,
    ports: { gateway: 0, cognito: 0, token: 0, dynamo: 0, fhir: 0, portal: 0 },
    settings: { authorizerCacheTtlSeconds: 0, linkCacheTtlSeconds: 0 },
    log: (r) => logs.push(r),
    now: () => Date.now() + clockOffsetMs,
  });
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  clockOffsetMs = 0;
});

const gateway = () => stack.info.fhirBaseUrl.replace(/\/fhir$/, '');
const tokenUrl = () => `${gateway()}/auth/token`;
const redirectUri = () => stack.info.apps.find((a) => a.clientId === PORTAL_CLIENT_ID)!.redirectUris[0]!;
const user = (name: string) => stack.info.users.find((u) => u.username === name)!;
const SCOPE = 'openid fhirUser launch/patient offline_access patient/*.rs';

function params(over: Partial<LaunchParams> = {}): LaunchParams {
  return { clientId: PORTAL_CLIENT_ID, redirectUri: redirectUri(), aud: stack.info.fhirBaseUrl, scope: SCOPE, ...over };
}

/** authorize → sign in → (picker: choose) → the app's redirect. */
async function launch(username: string, over: Partial<LaunchParams> = {}, choose?: string) {
  const browser = new LaunchBrowser();
  const { url, verifier, state } = authorizeUrl(`${gateway()}/auth/authorize`, params(over));
  const authorize = await browser.get(url);
  expect(authorize.status).toBe(302);
  let back = await signInAt(browser, authorize.location!, username, user(username).password);
  let offered: string[] | undefined;
  if (back.status === 200) {
    offered = pickerChoices(back.body);
    back = await browser.postForm(`${gateway()}/auth/picker`, { patient: choose ?? offered[0]!, action: 'allow' });
  }
  expect(back.status).toBe(302);
  const query = redirectParams(back.location);
  expect(query.state).toBe(state);
  return { code: query.code!, verifier: verifier!, offered, browser };
}

async function token(form: Record<string, string>) {
  const res = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const redeem = (code: string, verifier: string, over: Record<string, string> = {}) =>
  token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri(), client_id: PORTAL_CLIENT_ID, ...over });
const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: PORTAL_CLIENT_ID });

async function fhir(accessToken: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${stack.info.fhirBaseUrl}/${path}`, { ...init, headers: { authorization: `Bearer ${accessToken}`, ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: await res.text() };
}

const claimsOf = (jwt: unknown) => JSON.parse(Buffer.from(String(jwt).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

async function setPatients(username: string, patients: string[]) {
  const u = user(username);
  const client = createDynamoClient({ endpoint: stack.info.dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(
    new PutItemCommand({
      TableName: stack.info.dynamodb.linksTable,
      Item: { sub: { S: u.sub }, role: { S: u.role }, fhirUser: { S: u.fhirUser }, patients: { L: patients.map((p) => ({ S: p })) } },
    }),
  );
  client.destroy();
}

describe('standalone launch', () => {
  test('alice (a patient): no picker; token response with patient, scope, id_token fhirUser, no-store; reads only her record', async () => {
    const { code, verifier, offered } = await launch('alice');
    expect(offered).toBeUndefined();
    const res = await redeem(code, verifier);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ token_type: 'Bearer', patient: 'pat-alice', need_patient_banner: true });
    expect(String(res.body.scope).split(' ').sort()).toEqual(['fhirUser', 'launch/patient', 'offline_access', 'openid', 'patient/*.rs']);
    expect(claimsOf(res.body.id_token)).toMatchObject({ sub: user('alice').sub, aud: PORTAL_CLIENT_ID, fhirUser: 'Patient/pat-alice', iss: stack.info.exchangeIssuer });
    expect(claimsOf(res.body.access_token)).toMatchObject({ patient: 'pat-alice', client_id: PORTAL_CLIENT_ID, aud: stack.info.fhirBaseUrl, scope: 'patient/*.rs' });
    expect(res.body.refresh_token).toEqual(expect.any(String));
    // GET Patient/pat-alice with the app token: hers.
    expect((await fhir(String(res.body.access_token), 'Patient/pat-alice')).status).toBe(200);
    // GET Patient/pat-bob: not in her compartment, indistinguishable from absent.
    expect((await fhir(String(res.body.access_token), 'Patient/pat-bob')).status).toBe(404);
  });

  test("carols-mother (a guardian) picks from her dependents only; a tampered choice is refused", async () => {
    const browser = new LaunchBrowser();
    const { url } = authorizeUrl(`${gateway()}/auth/authorize`, params());
    const picker = await signInAt(browser, (await browser.get(url)).location!, 'carols-mother', user('carols-mother').password);
    expect(picker.status).toBe(200);
    expect(pickerChoices(picker.body)).toEqual(['pat-carol']);
    // POST /auth/picker patient=pat-alice: never offered.
    const tampered = await browser.postForm(`${gateway()}/auth/picker`, { patient: 'pat-alice', action: 'allow' });
    expect(tampered.status).toBe(400);
    expect(tampered.location).toBeUndefined();
    const chosen = await launch('carols-mother', {}, 'pat-carol');
    const res = await redeem(chosen.code, chosen.verifier);
    expect(res.body).toMatchObject({ patient: 'pat-carol' });
    expect(claimsOf(res.body.id_token).fhirUser).toBe('RelatedPerson/rp-carol-mother');
    expect((await fhir(String(res.body.access_token), 'Patient/pat-carol')).status).toBe(200);
    expect((await fhir(String(res.body.access_token), 'Patient/pat-alice')).status).toBe(404);
  });

  test('dr-demo (a practitioner) picks from her panel only, and the token reaches no one else', async () => {
    const { code, verifier, offered } = await launch('dr-demo');
    expect(offered).toEqual(user('dr-demo').patients);
    const res = await redeem(code, verifier);
    expect(res.body.patient).toBe('pat-alice');
    const at = String(res.body.access_token);
    expect((await fhir(at, 'Observation?patient=pat-alice')).status).toBe(200);
    expect((await fhir(at, 'Patient/pat-bob')).status).toBe(404);
    const bobs = await fhir(at, 'Observation?patient=pat-bob');
    expect(bobs.body).not.toContain('pat-bob"');
  });

  test('a callback carried to another browser (login CSRF) finds no session', async () => {
    const browser = new LaunchBrowser();
    const { url } = authorizeUrl(`${gateway()}/auth/authorize`, params());
    const login = (await browser.get(url)).location!;
    const victim = new LaunchBrowser();
    const form = await victim.get(login);
    const hidden = Object.fromEntries([...form.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const back = await victim.postForm(new URL('/login', login).toString(), { ...hidden, username: 'alice', password: user('alice').password });
    // GET /auth/callback?code&state without the cookie /auth/authorize set in the first browser.
    const callback = await victim.get(back.location!);
    expect(callback.status).toBe(400);
    expect(callback.location).toBeUndefined();
  });
});

describe('authorize refusals', () => {
  async function authorize(over: Partial<LaunchParams>) {
    return new LaunchBrowser().get(authorizeUrl(`${gateway()}/auth/authorize`, params(over)).url);
  }

  test('unknown client_id: an error page, no redirect anywhere', async () => {
    const res = await authorize({ clientId: 'no-such-app' });
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain('unauthorized_client');
  });

  test('redirect_uri not registered (even a prefix of one): an error page, no redirect', async () => {
    for (const uri of ['https://evil.example/', `${redirectUri()}x`, redirectUri().replace(/\/$/, '')]) {
      const res = await authorize({ redirectUri: uri });
      expect(res.status).toBe(400);
      expect(res.location).toBeUndefined();
    }
  });

  test.each([
    ['no PKCE', { pkce: null }],
    ['PKCE plain', { pkce: { verifier: 'v'.repeat(43), challenge: 'v'.repeat(43), method: 'plain' } }],
    ['aud another server', { aud: 'https://other.example/fhir' }],
  ])('%s: back to the app with error=invalid_request and its state', async (_name, over) => {
    const res = await authorize({ ...(over as Partial<LaunchParams>), state: 'app-state-1' });
    expect(res.status).toBe(302);
    const query = redirectParams(res.location);
    expect(query.state).toBe('app-state-1');
    expect(res.location!.startsWith(redirectUri())).toBe(true);
    expect(query).toMatchObject({ error: 'invalid_request' });
    expect(query.code).toBeUndefined();
  });
});

describe('token endpoint refusals', () => {
  test('a wrong code_verifier is invalid_grant', async () => {
    const { code } = await launch('alice');
    const res = await redeem(code, 'x'.repeat(43));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  test('a code used twice: the second use fails and revokes the refresh token the first one got', async () => {
    const { code, verifier } = await launch('alice');
    const first = await redeem(code, verifier);
    expect(first.status).toBe(200);
    const second = await redeem(code, verifier);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    const afterReuse = await refresh(String(first.body.refresh_token));
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.error).toBe('invalid_grant');
  });

  test('an expired code is invalid_grant', async () => {
    const { code, verifier } = await launch('alice');
    clockOffsetMs = 61_000; // codes live 60 s
    const res = await redeem(code, verifier);
    expect(res.status).toBe(400);
    expect(res.body.error_description).toMatch(/expired/);
  });

  test('a redirect_uri or client_id other than the authorize request is invalid_grant / invalid_client', async () => {
    const { code, verifier } = await launch('alice');
    expect((await redeem(code, verifier, { redirect_uri: 'https://evil.example/' })).body.error).toBe('invalid_grant');
    const other = await launch('alice');
    const res = await redeem(other.code, other.verifier, { client_id: 'no-such-app' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('scope escalation: patient/*.cruds asked, patient/*.rs granted, a write refused', async () => {
    const { code, verifier } = await launch('alice', { scope: 'launch/patient patient/*.cruds patient/Observation.cu' });
    const res = await redeem(code, verifier);
    expect(res.body.scope).toBe('launch/patient patient/*.rs');
    const write = await fhir(String(res.body.access_token), 'Observation', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/pat-alice' } }),
    });
    expect(write.status).toBe(403);
  });

  test('refresh rotates; a rotated-out refresh token presented again revokes the launch', async () => {
    const { code, verifier } = await launch('alice');
    const first = await redeem(code, verifier);
    const second = await refresh(String(first.body.refresh_token));
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(second.body.patient).toBe('pat-alice');
    // The first refresh token again: reuse.
    const reuse = await refresh(String(first.body.refresh_token));
    expect(reuse.body.error).toBe('invalid_grant');
    // …which also ended the newest one.
    const newest = await refresh(String(second.body.refresh_token));
    expect(newest.body.error).toBe('invalid_grant');
  });

  test('refresh after the link to the patient was removed is refused, and stays refused after re-linking', async () => {
    const { code, verifier } = await launch('carols-mother', {}, 'pat-carol');
    const first = await redeem(code, verifier);
    expect(first.status).toBe(200);
    await setPatients('carols-mother', []);
    try {
      const res = await refresh(String(first.body.refresh_token));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
      // The access token stops working too (the authorizer re-reads the link).
      expect((await fhir(String(first.body.access_token), 'Patient/pat-carol')).status).toBe(403);
    } finally {
      await setPatients('carols-mother', ['pat-carol']);
    }
    const later = await refresh(String(first.body.refresh_token));
    expect(later.body.error).toBe('invalid_grant');
  });
});

describe('discovery', () => {
  test('smart-configuration and the OpenID configuration of fhirgate\'s issuer advertise the launch, served', async () => {
    const smart = (await (await fetch(`${stack.info.fhirBaseUrl}/.well-known/smart-configuration`)).json()) as Record<string, any>;
    expect(smart).toMatchObject({ issuer: stack.info.exchangeIssuer, authorization_endpoint: `${gateway()}/auth/authorize`, token_endpoint: tokenUrl(), code_challenge_methods_supported: ['S256'] });
    expect(smart.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-v2', 'permission-offline', 'sso-openid-connect']));
    expect(smart.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    const oidc = (await (await fetch(`${stack.info.exchangeIssuer}/.well-known/openid-configuration`)).json()) as Record<string, any>;
    expect(oidc).toMatchObject({ issuer: stack.info.exchangeIssuer, authorization_endpoint: smart.authorization_endpoint, response_types_supported: ['code'], id_token_signing_alg_values_supported: ['ES256'] });
  });
});
