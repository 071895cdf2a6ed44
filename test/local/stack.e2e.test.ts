/**
 * `npm start` end to end: the real entry point in a child process on free ports, then over HTTP
 * as a user would — users sign in with the AWS SDK's InitiateAuth against the local Cognito,
 * machines get tokens from the client_credentials endpoint, and every call goes through the
 * gateway emulation to the local FHIR store.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cognitoLocalSigner } from '../../local/cognito/signing-key';
import { machineToken as machineTokenOf, signIn as signInTo } from '../../local/stack/clients';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';
import type { StackInfo } from '../../bin/cli/stack-info';

jest.setTimeout(90_000);

let stack: SpawnedStack;
let info: StackInfo;

beforeAll(async () => {
  stack = await spawnLocalStack();
  info = stack.info;
});

afterAll(async () => {
  await stack.stop();
});

const signIn = (username: string) => signInTo(info, username);
const machineToken = (name: string) => machineTokenOf(info, name);

async function fhir(token: string | undefined, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${info.fhirBaseUrl}/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

const ids = (bundle: any) => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();

test('stack.json describes the running stack and the start output lists the demo users', () => {
  expect(info.fhirBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
  expect(info.backendFhirBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/datastore\/[0-9a-f]{32}\/r4$/);
  expect(info.users.map((u) => u.role).sort()).toEqual(['guardian', 'patient', 'patient', 'practitioner']);
  expect(info.machineClients.map((c) => c.name).sort()).toEqual(['analytics', 'api-server']);
  expect(stack.stdout()).toMatch(/ready in/);
  for (const u of info.users) expect(stack.stdout()).toContain(u.username);
});

test('each role sees exactly its patients (GET Patient)', async () => {
  for (const user of info.users) {
    const r = await fhir(await signIn(user.username), 'Patient');
    expect({ user: user.username, status: r.status, ids: ids(r.body) }).toEqual({ user: user.username, status: 200, ids: [...user.patients].sort() });
  }
  const api = await fhir(await machineToken('api-server'), 'Patient');
  expect(ids(api.body)).toEqual(info.patients.map((p) => p.id).sort());
});

test('no token → 401; garbage token → 401; expired token (validly signed) → 401; tampered token → 401', async () => {
  expect((await fhir(undefined, 'Patient')).status).toBe(401);
  expect((await fhir('garbage', 'Patient')).status).toBe(401);
  const token = await signIn('alice');
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  // Re-signed with the emulator's own key, so only the expiry is wrong.
  const expired = cognitoLocalSigner().sign({ ...claims, iat: now - 7200, exp: now - 3600 });
  expect((await fhir(expired, 'Patient')).status).toBe(401);
  const fresh = cognitoLocalSigner().sign({ ...claims, iat: now, exp: now + 600 });
  expect((await fhir(fresh, 'Patient')).status).toBe(200);
  const [h, , s] = token.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
  expect((await fhir(tampered, 'Patient')).status).toBe(401);
});

test('analytics (system/Observation.rs) cannot read Patient but reads Observations', async () => {
  const token = await machineToken('analytics');
  expect((await fhir(token, 'Patient/pat-alice')).status).toBe(403);
  expect((await fhir(token, 'Observation/obs-bob-glucose')).status).toBe(200);
});

test('the authorizer cache never leaks a decision between tokens', async () => {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  for (let i = 0; i < 3; i++) {
    expect(ids((await fhir(alice, 'Patient')).body)).toEqual(['pat-alice']);
    expect(ids((await fhir(bob, 'Patient')).body)).toEqual(['pat-bob']);
    expect((await fhir(bob, 'Patient/pat-alice')).status).toBe(404);
  }
});

test('SIGTERM stops the stack: every process of its tree is gone and stack.json is removed', async () => {
  const pids = [stack.child.pid!, ...info.processes.map((p) => p.pid)];
  const stackFile = join(stack.dir, 'stack.json');
  stack.child.kill('SIGTERM');
  await new Promise((resolve) => stack.child.once('exit', resolve));
  expect(stack.child.exitCode).toBe(0);
  await expect(readFile(stackFile)).rejects.toThrow();
  await new Promise((r) => setTimeout(r, 200));
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
});
