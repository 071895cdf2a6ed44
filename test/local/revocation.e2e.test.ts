/**
 * Revocation end to end, as an operator does it: the real CLI (`node bin/fhirgate.cjs`) against
 * the real local stack over HTTP, with short caches (support.ts TEST_CACHE_TTL: authorizer 2 s,
 * link 1 s; so the stated window is 3 s). For each operator action, every path a client may hold
 * — a read, a search, a paging link issued before, `$everything`, an on-behalf-of token issued
 * before, a new exchange, a new sign-in — is refused once the stated window has passed, with the
 * reason in the refusal, and allowed again after `users enable` / re-linking where that applies.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminDeleteUserCommand, CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { backendServicesRequest, backendServicesToken, clientAssertion, exchangeToken, machineToken } from '../../local/stack/clients';
import { json, runCli, startStack, TEST_CACHE_TTL, TestStack } from '../cli/support';

jest.setTimeout(180_000);

let stack: TestStack;
let sdk: CognitoIdentityProviderClient;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });
/** The stated window (authorizer cache + link cache), plus a little for the request itself. */
const WINDOW_MS = (TEST_CACHE_TTL.authorizer + TEST_CACHE_TTL.link) * 1000 + 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  stack = await startStack();
  const { cognito } = stack.info;
  sdk = new CognitoIdentityProviderClient({ endpoint: cognito.endpoint, region: cognito.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});
afterAll(async () => {
  sdk?.destroy();
  await stack?.stop();
});

/** Cognito InitiateAuth (USER_PASSWORD_AUTH) as the portal does it; the whole answer, or the refusal. */
async function signIn(username: string, password: string): Promise<{ token?: string; error?: string }> {
  try {
    const out = await sdk.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: stack.info.cognito.webClientId, AuthParameters: { USERNAME: username, PASSWORD: password } }));
    return { token: out.AuthenticationResult?.AccessToken };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

async function get(token: string, url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url.startsWith('http') ? url : `${stack.info.fhirBaseUrl}/${url}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Everything a signed-in user (and the API server acting for them) holds for one patient. */
interface Holdings {
  readonly token: string;
  readonly nextPage: string;
  readonly exchanged: string;
}

/** Sign in, take a paging link and an on-behalf-of token; each must work now. */
async function acquire(username: string, password: string, patient: string): Promise<Holdings> {
  const { token, error } = await signIn(username, password);
  expect(error).toBeUndefined();
  const page = await get(token!, `Observation?patient=${patient}&_count=1`);
  expect(page.status).toBe(200);
  const nextPage = page.body.link.find((l: any) => l.relation === 'next')?.url;
  expect(nextPage).toEqual(expect.any(String));
  const exchanged = await exchangeToken(stack.info, token!, await machineToken(stack.info, 'api-server'), { patient });
  expect(exchanged.status).toBe(200);
  const holdings = { token: token!, nextPage, exchanged: exchanged.body.access_token! };
  expect(await paths(holdings, patient)).toEqual(allowed);
  return holdings;
}

/** Status of every path: user token (read, search, paging link, $everything), on-behalf-of token, and a new exchange. */
async function paths(h: Holdings, patient: string): Promise<Record<string, number | string>> {
  const exchange = await exchangeToken(stack.info, h.token, await machineToken(stack.info, 'api-server'), { patient });
  return {
    read: (await get(h.token, `Patient/${patient}`)).status,
    search: (await get(h.token, `Observation?patient=${patient}`)).status,
    pagingLink: (await get(h.token, h.nextPage)).status,
    everything: (await get(h.token, `Patient/${patient}/$everything`)).status,
    onBehalfOf: (await get(h.exchanged, `Observation?patient=${patient}`)).status,
    newExchange: exchange.status === 200 ? 200 : `${exchange.status} ${exchange.body.error}`,
  };
}

const allowed = { read: 200, search: 200, pagingLink: 200, everything: 200, onBehalfOf: 200, newExchange: 200 };
const refused = { read: 403, search: 403, pagingLink: 403, everything: 403, onBehalfOf: 403, newExchange: '400 invalid_grant' };

test('users disable: every path refused within the window (ERR_USER_DISABLED), sign-in refused; users enable: allowed again', async () => {
  const alice = stack.info.users.find((u) => u.username === 'alice')!;
  const held = await acquire('alice', alice.password, 'pat-alice');

  // fhirgate --local --json users disable --user alice
  const disabled = await cli('--json', 'users', 'disable', '--user', 'alice');
  expect({ code: disabled.code, stderr: disabled.stderr }).toEqual({ code: 0, stderr: '' });
  expect(json(disabled)).toMatchObject({ username: 'alice', sub: alice.sub, changed: true, cognitoEnabled: false, signedOut: true, disabledAt: expect.any(String) });
  expect(json(disabled).note).toMatch(/within 3 s/);
  await sleep(WINDOW_MS);

  expect(await paths(held, 'pat-alice')).toEqual(refused);
  const denial = await get(held.token, 'Patient/pat-alice');
  expect(JSON.stringify(denial.body)).toContain('disabled by an operator');
  expect(await signIn('alice', alice.password)).toEqual({ error: 'NotAuthorizedException: User is disabled.' });
  // Another user is untouched.
  const bob = stack.info.users.find((u) => u.username === 'bob')!;
  expect((await get((await signIn('bob', bob.password)).token!, 'Patient/pat-bob')).status).toBe(200);
  // The CLI shows the state: Cognito disabled, link marked.
  expect(json(await cli('--json', 'users', 'get', '--user', 'alice'))).toMatchObject({ cognitoEnabled: false, access: 'disabled', link: { disabledAt: expect.any(String) } });

  // fhirgate --local users enable --user alice
  const enabled = await cli('users', 'enable', '--user', 'alice');
  expect({ code: enabled.code, stderr: enabled.stderr }).toEqual({ code: 0, stderr: '' });
  await sleep(WINDOW_MS);
  // The access token issued before still verifies (not expired) and the link is active again.
  expect(await paths(held, 'pat-alice')).toEqual(allowed);
  expect((await signIn('alice', alice.password)).token).toEqual(expect.any(String));
});

test('users delete: every path refused within the window (ERR_NO_LINK); a user created again under the username inherits nothing', async () => {
  // A fresh patient user, so the demo users stay as seeded.
  const created = json(await cli('--json', 'users', 'create', '--email', 'erin@example.com', '--username', 'erin', '--role', 'guardian', '--patient', 'pat-carol', '--password', 'Erin-Passw0rd!'));
  const held = await acquire('erin', 'Erin-Passw0rd!', 'pat-carol');

  const deleted = await cli('--json', 'users', 'delete', '--user', 'erin');
  expect({ code: deleted.code, stderr: deleted.stderr }).toEqual({ code: 0, stderr: '' });
  expect(json(deleted)).toMatchObject({ username: 'erin', sub: created.sub, deletedLink: true });
  await sleep(WINDOW_MS);

  expect(await paths(held, 'pat-carol')).toEqual(refused);
  expect(JSON.stringify((await get(held.token, 'Patient/pat-carol')).body)).toContain('no link record');
  expect((await signIn('erin', 'Erin-Passw0rd!')).error).toMatch(/^(NotAuthorizedException|UserNotFoundException)/);
  expect(json(await cli('--json', 'links', 'list', '--orphans'))).toEqual([]);

  // Created again with the same username: a new sub, its own new link; the old token stays refused.
  const again = json(await cli('--json', 'users', 'create', '--email', 'erin@example.com', '--username', 'erin', '--role', 'guardian', '--patient', 'pat-carol', '--password', 'Erin-Passw0rd!'));
  expect(again.sub).not.toBe(created.sub);
  await sleep(WINDOW_MS);
  expect((await get(held.token, 'Patient/pat-carol')).status).toBe(403);
  expect((await get((await signIn('erin', 'Erin-Passw0rd!')).token!, 'Patient/pat-carol')).status).toBe(200);
});

test('a user deleted in Cognito alone leaves an orphaned link: links list --orphans finds it, links delete --user <sub> ends the old token', async () => {
  const created = json(await cli('--json', 'users', 'create', '--email', 'finn@example.com', '--username', 'finn', '--role', 'guardian', '--patient', 'pat-carol', '--password', 'Finn-Passw0rd!'));
  const { token } = await signIn('finn', 'Finn-Passw0rd!');
  // An operator deletes the user in the console, not with the CLI.
  await sdk.send(new AdminDeleteUserCommand({ UserPoolId: stack.info.cognito.userPoolId, Username: 'finn' }));
  const orphans = json(await cli('--json', 'links', 'list', '--orphans'));
  expect(orphans).toEqual([expect.objectContaining({ username: null, sub: created.sub, role: 'guardian', patients: ['pat-carol'] })]);
  // Until the orphan goes, the old token is still honoured (verified offline, link present): say so in the docs.
  expect((await get(token!, 'Patient/pat-carol')).status).toBe(200);

  const removed = await cli('links', 'delete', '--user', created.sub);
  expect({ code: removed.code, stderr: removed.stderr }).toEqual({ code: 0, stderr: '' });
  expect(removed.stdout).toContain(`Deleted the link of sub ${created.sub} (no Cognito user)`);
  await sleep(WINDOW_MS);
  expect((await get(token!, 'Patient/pat-carol')).status).toBe(403);
  expect(json(await cli('--json', 'links', 'list', '--orphans'))).toEqual([]);
});

test('links remove-patient: every path for that patient refused within the window; links add-patient: allowed again', async () => {
  const mother = stack.info.users.find((u) => u.username === 'carols-mother')!;
  const held = await acquire('carols-mother', mother.password, 'pat-carol');

  expect((await cli('links', 'remove-patient', '--user', 'carols-mother', '--patient', 'pat-carol')).code).toBe(0);
  await sleep(WINDOW_MS);
  // A guardian with no patient holds no usable scope (403); the exchange has no patient to grant.
  const after = await paths(held, 'pat-carol');
  expect(after).toEqual({ ...refused, newExchange: '400 invalid_scope' });

  expect((await cli('links', 'add-patient', '--user', 'carols-mother', '--patient', 'pat-carol')).code).toBe(0);
  await sleep(WINDOW_MS);
  expect(await paths(held, 'pat-carol')).toEqual(allowed);
});

test('whoami prints the stated window for a user token (the two caches) and for a machine token (its lifetime left + the authorizer cache)', async () => {
  const bob = stack.info.users.find((u) => u.username === 'bob')!;
  const user = json(await cli('--json', 'whoami', '--token', (await signIn('bob', bob.password)).token!));
  expect(user.revocationWindow).toEqual({ seconds: 3, checkedOnline: true, explanation: 'the authorizer cache TTL (2 s) + the link cache TTL (1 s)', defaultCacheSettings: false });
  const human = await cli('whoami', '--token', (await signIn('bob', bob.password)).token!);
  expect(human.stdout).toMatch(/revocation +within 3 s of an operator's action: the authorizer cache TTL \(2 s\) \+ the link cache TTL \(1 s\)\n/);

  const machine = json(await cli('--json', 'whoami', '--token', await machineToken(stack.info, 'analytics')));
  expect(machine.revocationWindow).toMatchObject({ checkedOnline: false, explanation: expect.stringMatching(/^not checked online: the token's remaining lifetime \(\d+ s\) \+ the authorizer cache TTL \(2 s\)$/) });
});

test('clients revoke: new tokens refused at once; a token issued before is not checked online and lives out its stated window', async () => {
  const issued = await backendServicesToken(stack.info);
  expect((await get(issued, 'Observation?_count=1')).status).toBe(200);
  const revoked = await cli('clients', 'revoke', '--client-id', 'backend-sync');
  expect({ code: revoked.code, stderr: revoked.stderr }).toEqual({ code: 0, stderr: '' });
  expect(revoked.stdout).toContain(`every request of this client is refused within ${300 + TEST_CACHE_TTL.authorizer} s.`);
  // The token endpoint reads the registry on every request: refused now.
  expect(await backendServicesRequest(stack.info, clientAssertion(stack.info))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  // The token in hand is verified offline until its exp (at most 300 s): as the note and whoami say.
  expect((await get(issued, 'Observation?_count=1')).status).toBe(200);
  const window = json(await cli('--json', 'whoami', '--token', issued)).revocationWindow;
  expect(window).toMatchObject({ checkedOnline: false });
  expect(window.seconds).toBeLessThanOrEqual(300 + TEST_CACHE_TTL.authorizer);
});

test('all or nothing: when Cognito refuses AdminDisableUser, the link mark is rolled back and the user keeps access', async () => {
  // The same stack seen through a proxy that answers AdminDisableUser with a Cognito error and passes everything else.
  const upstream = stack.info.cognito.endpoint;
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (String(req.headers['x-amz-target']).endsWith('.AdminDisableUser')) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'TooManyRequestsException', message: 'Rate exceeded' }));
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const answer = await fetch(`${upstream}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-revocation-'));
  try {
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    await writeFile(join(dir, 'stack.json'), JSON.stringify({ ...stack.info, cognito: { ...stack.info.cognito, endpoint } }));
    const bob = stack.info.users.find((u) => u.username === 'bob')!;
    const failed = await runCli(['--local', 'users', 'disable', '--user', 'bob'], { dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^fhirgate: disabling bob in Cognito failed: .*Rate exceeded.*; rolled back: the disabled mark on the link of bob \(nothing was written\)\n$/);
    expect(json(await cli('--json', 'links', 'get', '--user', 'bob'))).toMatchObject({ disabledAt: null });
    await sleep(WINDOW_MS);
    expect((await get((await signIn('bob', bob.password)).token!, 'Patient/pat-bob')).status).toBe(200);
  } finally {
    proxy.close();
    await rm(dir, { recursive: true, force: true });
  }
});
