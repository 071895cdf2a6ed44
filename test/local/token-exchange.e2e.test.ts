/**
 * On-behalf-of end to end on the local stack: the API server exchanges Alice's Cognito token
 * (RFC 8693) and uses the result against the FHIR API over HTTP. Exchanged tokens live 3 s here
 * (FHIRGATE_EXCHANGE_TOKEN_LIFETIME_SECONDS) and the authorizer cache is off, so expiry is seen.
 */
import { backendServicesRequest, backendServicesToken, clientAssertion, machineToken as machineTokenOf, signIn as signInTo } from '../../local/stack/clients';
import { runCli } from '../cli/support';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(90_000);

let stack: SpawnedStack;

beforeAll(async () => {
  stack = await spawnLocalStack({ FHIRGATE_EXCHANGE_TOKEN_LIFETIME_SECONDS: '3', FHIRGATE_AUTHORIZER_CACHE_TTL_SECONDS: '0' });
});
afterAll(() => stack.stop());

const signIn = (username: string) => signInTo(stack.info, username);
const machineToken = (name: string) => machineTokenOf(stack.info, name);

async function exchange(form: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(stack.info.tokenExchangeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

async function exchangeFor(username: string, extra: Record<string, string> = {}) {
  return exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await signIn(username),
    subject_token_type: ACCESS_TOKEN,
    actor_token: await machineToken('api-server'),
    actor_token_type: ACCESS_TOKEN,
    ...extra,
  });
}

async function fhir(token: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${stack.info.fhirBaseUrl}/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

test('the API server exchanges Alice\'s token: RFC 8693 response, short-lived, for Alice only', async () => {
  const r = await exchangeFor('alice');
  expect(r.status).toBe(200);
  expect(r.headers.get('cache-control')).toBe('no-store');
  expect(r.body).toMatchObject({ issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', scope: 'patient/*.rs' });
  expect(r.body.expires_in).toBeLessThanOrEqual(3);
  const claims = JSON.parse(Buffer.from(r.body.access_token.split('.')[1], 'base64url').toString());
  const apiServer = stack.info.machineClients.find((c) => c.name === 'api-server')!;
  const alice = stack.info.users.find((u) => u.username === 'alice')!;
  expect(claims).toMatchObject({ iss: stack.info.exchangeIssuer, sub: alice.sub, act: { sub: apiServer.clientId }, client_id: apiServer.clientId, patient: 'pat-alice', aud: stack.info.fhirBaseUrl });
});

test('with the exchanged token: Alice\'s Observations 200, Bob\'s 404, no writes (Alice holds no write scope)', async () => {
  const { access_token: token } = (await exchangeFor('alice')).body;
  const own = await fhir(token, 'Observation');
  expect(own.status).toBe(200);
  expect(own.body.entry.map((e: any) => e.resource.subject.reference)).toEqual(expect.arrayContaining(['Patient/pat-alice']));
  expect(JSON.stringify(own.body)).not.toContain('pat-bob');
  expect((await fhir(token, 'Observation/obs-bob-glucose')).status).toBe(404);
  expect((await fhir(token, 'Patient/pat-bob')).status).toBe(404);
  const write = await fhir(token, 'Observation', { method: 'POST', body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference: 'Patient/pat-alice' } }) });
  expect(write.status).toBe(403);
});

test('the proxy audit line carries both the user (sub) and the acting client (actor)', async () => {
  const { access_token: token } = (await exchangeFor('alice')).body;
  await fhir(token, 'Patient/pat-alice');
  const alice = stack.info.users.find((u) => u.username === 'alice')!;
  const apiServer = stack.info.machineClients.find((c) => c.name === 'api-server')!;
  const wanted = expect.objectContaining({ sub: alice.sub, actor: apiServer.clientId, kind: 'delegated', resourceType: 'Patient', id: 'pat-alice', status: 200 });
  const audits = () =>
    stack
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"fhir.access"'))
      .map((l) => JSON.parse(l));
  // The stack writes its log lines in batches, after the response: wait for the line (bounded).
  for (let i = 0; i < 40 && !audits().some((a) => JSON.stringify(a).includes('"id":"pat-alice"')); i++) await new Promise((r) => setTimeout(r, 50));
  expect(audits()).toContainEqual(wanted);
});

test('the exchanged token expires after its lifetime (3 s here) → 401', async () => {
  const { access_token: token } = (await exchangeFor('alice')).body;
  expect((await fhir(token, 'Patient/pat-alice')).status).toBe(200);
  await new Promise((r) => setTimeout(r, 4500));
  expect((await fhir(token, 'Patient/pat-alice')).status).toBe(401);
});

test('refusals: analytics lacks the delegation scope; an exchanged token cannot be exchanged again; the guardian must pick her child', async () => {
  const analytics = await exchange({ grant_type: TOKEN_EXCHANGE, subject_token: await signIn('alice'), subject_token_type: ACCESS_TOKEN, actor_token: await machineToken('analytics'), actor_token_type: ACCESS_TOKEN });
  expect(analytics).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
  const { access_token: exchanged } = (await exchangeFor('alice')).body;
  const chained = await exchange({ grant_type: TOKEN_EXCHANGE, subject_token: exchanged, subject_token_type: ACCESS_TOKEN, actor_token: await machineToken('api-server'), actor_token_type: ACCESS_TOKEN });
  expect(chained).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  const guardian = await exchangeFor('carols-mother');
  expect(guardian.status).toBe(200);
  expect(JSON.parse(Buffer.from(guardian.body.access_token.split('.')[1], 'base64url').toString()).patient).toBe('pat-carol');
  expect((await exchangeFor('carols-mother', { patient: 'pat-alice' })).body.error).toBe('invalid_scope');
  expect((await exchange({ grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
});

test('clients revoke on a stack whose tokens live 3 s (no authorizer cache): new tokens refused at once, the token in hand once its stated window (3 s + 0 s) has passed', async () => {
  const issued = await backendServicesToken(stack.info);
  // fhirgate --local clients revoke --client-id backend-sync
  const revoked = await runCli(['--local', 'clients', 'revoke', '--client-id', 'backend-sync'], { dir: stack.dir });
  expect({ code: revoked.code, stderr: revoked.stderr }).toEqual({ code: 0, stderr: '' });
  expect(await backendServicesRequest(stack.info, clientAssertion(stack.info))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  const window = JSON.parse(Buffer.from(issued.split('.')[1]!, 'base64url').toString()).exp * 1000 - Date.now();
  await new Promise((r) => setTimeout(r, Math.max(0, window) + 300));
  expect((await fhir(issued, 'Patient?_count=1')).status).toBe(401);
});
