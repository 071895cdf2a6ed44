/**
 * `fhirgate links …` and `fhirgate whoami` end to end: the real CLI process against the real
 * local stack. Link changes are checked with the authorizer's rules, and `whoami` gives the
 * authorizer's own verdict for patient, machine and delegated tokens and for refused ones.
 */
import { cognitoLocalSigner } from '../../local/cognito/signing-key';
import { gatewayGet, ids, json, runCli, startStack, TEST_CACHE_TTL, TestStack } from './support';

jest.setTimeout(120_000);

let stack: TestStack;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });
const whoami = (token: string, ...flags: string[]) => runCli(['--local', ...flags, 'whoami', '--token', '-'], { dir: stack.dir, input: `${token}\n` });

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function token(...args: string[]): Promise<string> {
  const r = await cli('token', ...args);
  if (r.code !== 0) throw new Error(`fhirgate token ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

const clientId = (name: string) => stack.info.machineClients.find((c) => c.name === name)!.clientId;
const sub = (username: string) => stack.info.users.find((u) => u.username === username)!.sub;

describe('whoami: the authorizer verdict', () => {
  test('patient token (alice): her principal, patient scopes, her one patient', async () => {
    // fhirgate --local token --user alice | fhirgate --local --json whoami --token -
    const r = await whoami(await token('--user', 'alice'), '--json');
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({
      effect: 'Allow',
      status: 200,
      principal: { kind: 'patient', sub: sub('alice'), clientId: stack.info.cognito.webClientId, fhirUser: 'Patient/pat-alice', patients: ['pat-alice'], scopes: ['patient/*.rs'] },
      token: { issuer: stack.info.cognito.issuer, username: 'alice', expires: expect.any(String) },
      // The test stack's caches (support.ts TEST_CACHE_TTL): 2 s + 1 s.
      revocationWindow: { seconds: 3, checkedOnline: true, explanation: 'the authorizer cache TTL (2 s) + the link cache TTL (1 s)', defaultCacheSettings: false },
    });
    const human = await whoami(await token('--user', 'alice'));
    expect(human.stdout).toMatch(/^Allow: patient alice\n/);
    expect(human.stdout).toMatch(/patients +pat-alice\n/);
  });

  test('machine token (analytics): a system principal with its own scopes, every patient', async () => {
    const r = await whoami(await token('--client', 'analytics'), '--json');
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ effect: 'Allow', principal: { kind: 'system', sub: clientId('analytics'), clientId: clientId('analytics'), patients: [], scopes: ['system/Observation.rs'] } });
    expect((await whoami(await token('--client', 'analytics'))).stdout).toMatch(/^Allow: machine client analytics \(all patients, within its scopes\)\n[\s\S]*scopes +system\/Observation\.rs/);
  });

  test('delegated token (api-server acting for alice, RFC 8693)', async () => {
    const delegated = await token('--user', 'alice', '--actor', 'api-server', '--patient', 'pat-alice');
    const r = await whoami(delegated, '--json');
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ effect: 'Allow', principal: { kind: 'delegated', sub: sub('alice'), actor: clientId('api-server'), patients: ['pat-alice'] } });
  });

  test('refusals: exit 1 with the authorizer reason code — malformed and expired (401), no link (403)', async () => {
    const malformed = await whoami('not-a-jwt', '--json');
    expect({ code: malformed.code, body: json(malformed) }).toEqual({ code: 1, body: { effect: 'Unauthorized', status: 401, code: 'ERR_TOKEN_MALFORMED', reason: 'token is not a well-formed JWT' } });

    // Alice's real claims, re-signed with the emulator's own key, only the expiry in the past.
    const claims = JSON.parse(Buffer.from((await token('--user', 'alice')).split('.')[1]!, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const expired = await whoami(cognitoLocalSigner().sign({ ...claims, iat: now - 7200, exp: now - 3600 }));
    expect({ code: expired.code, stdout: expired.stdout }).toEqual({ code: 1, stdout: 'Unauthorized (API Gateway answers 401): ERR_TOKEN_EXPIRED\n  reason  token has expired\n  claim   exp\n' });

    // A user the CLI created without… then with its link deleted: ERR_NO_LINK.
    expect((await cli('users', 'create', '--email', 'nolink@example.com', '--role', 'guardian', '--patient', 'pat-bob', '--password', 'NoLink-Passw0rd!')).code).toBe(0);
    expect((await cli('links', 'delete', '--user', 'nolink@example.com')).code).toBe(0);
    const denied = await whoami(await token('--user', 'nolink@example.com', '--password', 'NoLink-Passw0rd!'), '--json');
    expect({ code: denied.code, body: json(denied) }).toEqual({
      code: 1,
      body: { effect: 'Deny', status: 403, code: 'ERR_NO_LINK', reason: 'user has no link record; an operator must link the user to their patients' },
    });
  });
});

describe('links', () => {
  test('removing a guardian\'s dependent: the record changes at once, a fresh authorizer refuses, the gateway refuses after the cache TTLs', async () => {
    const guardian = await token('--user', 'carols-mother');
    expect((await gatewayGet(stack, guardian, 'Patient/pat-carol')).status).toBe(200);

    // fhirgate --local links remove-patient --user carols-mother --patient pat-carol
    const removed = await cli('links', 'remove-patient', '--user', 'carols-mother', '--patient', 'pat-carol');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^Updated the link of carols-mother\n/);
    // The test stack states its TTLs (support.ts TEST_CACHE_TTL): 2 s + 1 s.
    expect(removed.stdout).toContain('This change reaches every request within 3 s: the authorizer result cache TTL (2 s) + the link cache TTL (1 s).');
    // No patients left: valid, but the guardian's tokens grant nothing any more — said as a warning.
    expect(removed.stderr).toMatch(/^fhirgate: warning: the authorizer will refuse this user's tokens until they are linked to a patient/);

    expect(json(await cli('--json', 'links', 'get', '--user', 'carols-mother'))).toMatchObject({ role: 'guardian', patients: [], grants: null });
    // The authorizer's own code, without its link cache: refused now.
    const verdict = json(await whoami(guardian, '--json'));
    expect(verdict).toMatchObject({ effect: 'Deny', status: 403, code: 'ERR_SCOPE_INSUFFICIENT' });
    // Through the running gateway, access ends once both caches have expired (this test stack
    // runs them at TEST_CACHE_TTL; in AWS 300 s + 60 s by default, as the CLI says).
    await new Promise((r) => setTimeout(r, (TEST_CACHE_TTL.authorizer + TEST_CACHE_TTL.link) * 1000 + 500));
    expect((await gatewayGet(stack, guardian, 'Patient/pat-carol')).status).toBe(403);

    // Put it back: the fresh authorizer grants pat-carol again.
    const added = await cli('links', 'add-patient', '--user', 'carols-mother', '--patient', 'pat-carol');
    expect(added.code).toBe(0);
    expect(json(await whoami(guardian, '--json'))).toMatchObject({ effect: 'Allow', principal: { kind: 'guardian', patients: ['pat-carol'] } });
  });

  test('add-patient and remove-patient follow the authorizer\'s rules and the FHIR store', async () => {
    const patientGetsAnother = await cli('links', 'add-patient', '--user', 'alice', '--patient', 'pat-bob');
    expect({ code: patientGetsAnother.code, stderr: patientGetsAnother.stderr }).toEqual({ code: 2, stderr: 'fhirgate: link record is invalid: a patient cannot hold other patients (use the guardian role)\n' });

    const ownRecord = await cli('links', 'remove-patient', '--user', 'alice', '--patient', 'pat-alice');
    expect({ code: ownRecord.code, stderr: ownRecord.stderr }).toEqual({
      code: 2,
      stderr: 'fhirgate: a patient user always holds their own record (fhirUser Patient/pat-alice); to end it, delete the link or change --fhir-user with links put\n',
    });

    const notLinked = await cli('links', 'remove-patient', '--user', 'dr-demo', '--patient', 'pat-bob');
    expect({ code: notLinked.code, stderr: notLinked.stderr }).toEqual({ code: 1, stderr: 'fhirgate: user dr-demo is not linked to patient pat-bob\n' });

    const missing = await cli('links', 'add-patient', '--user', 'dr-demo', '--patient', 'pat-nobody');
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: `fhirgate: patient pat-nobody not found in the FHIR store (${stack.info.backendFhirBaseUrl})\n` });

    const unknownUser = await cli('links', 'add-patient', '--user', 'nobody', '--patient', 'pat-bob');
    expect({ code: unknownUser.code, stderr: unknownUser.stderr }).toEqual({ code: 1, stderr: `fhirgate: user nobody not found in user pool ${stack.info.cognito.userPoolId}\n` });

    // A practitioner's panel grows, by username or by sub, and adding twice changes nothing.
    expect((await cli('links', 'add-patient', '--user', sub('dr-demo'), '--patient', 'pat-bob')).code).toBe(0);
    const again = await cli('--json', 'links', 'add-patient', '--user', 'dr-demo', '--patient', 'Patient/pat-bob');
    expect(json(again)).toMatchObject({ changed: false, patients: ['pat-alice', 'pat-bob'] });
    const doctor = await token('--user', 'dr-demo');
    expect(ids((await gatewayGet(stack, doctor, 'Patient')).body)).toEqual(['pat-alice', 'pat-bob']);
    expect((await cli('links', 'remove-patient', '--user', 'dr-demo', '--patient', 'pat-bob')).code).toBe(0);
    expect(json(await cli('--json', 'links', 'get', '--user', 'dr-demo'))).toMatchObject({ patients: ['pat-alice'] });
  });

  test('list, put (role change moves the Cognito group), delete', async () => {
    const forAlice = json(await cli('--json', 'links', 'list', '--patient', 'pat-alice'));
    expect(forAlice.map((l: any) => l.username).sort()).toEqual(['alice', 'dr-demo']);
    expect((await cli('links', 'list', '--role', 'guardian')).stdout).toMatch(/^USERNAME +SUB +ROLE +FHIRUSER +PATIENTS\ncarols-mother /);

    expect((await cli('users', 'create', '--email', 'pat@example.com', '--role', 'guardian', '--patient', 'pat-bob', '--password', 'Pat-Passw0rd!')).code).toBe(0);
    // fhirgate --local links put --user pat@example.com --role practitioner --fhir-user Practitioner/prac-1 --patient pat-bob --patient pat-dave
    const put = await cli('--json', 'links', 'put', '--user', 'pat@example.com', '--role', 'practitioner', '--fhir-user', 'Practitioner/prac-1', '--patient', 'pat-bob', '--patient', 'pat-dave');
    expect(put.code).toBe(0);
    expect(json(put)).toMatchObject({ role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob', 'pat-dave'], previous: { role: 'guardian', patients: ['pat-bob'] } });
    expect(json(await cli('--json', 'links', 'get', '--user', 'pat@example.com'))).toMatchObject({ role: 'practitioner', groups: ['practitioner'] });
    // A new sign-in carries the new group; the authorizer agrees with the link.
    const signedIn = json(await whoami(await token('--user', 'pat@example.com', '--password', 'Pat-Passw0rd!'), '--json'));
    expect(signedIn).toMatchObject({ effect: 'Allow', principal: { kind: 'practitioner', patients: ['pat-bob', 'pat-dave'] } });

    const deleted = await cli('links', 'delete', '--user', 'pat@example.com');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(/^Deleted the link of pat@example\.com; their tokens are refused \(ERR_NO_LINK\)/);
    const gone = await cli('links', 'get', '--user', 'pat@example.com');
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 1, stderr: 'fhirgate: user pat@example.com has no link record (their tokens are refused with ERR_NO_LINK)\n' });
    const twice = await cli('links', 'delete', '--user', 'pat@example.com');
    expect({ code: twice.code, stderr: twice.stderr }).toEqual({ code: 1, stderr: 'fhirgate: user pat@example.com has no link record\n' });
  });

  test('token errors: unknown machine client, wrong password (exit 1, one line)', async () => {
    const client = await cli('token', '--client', 'nope');
    expect({ code: client.code, stderr: client.stderr }).toEqual({ code: 1, stderr: 'fhirgate: no machine client nope in stack.json (known: api-server, analytics)\n' });
    const password = await cli('token', '--user', 'alice', '--password', 'Wrong-Passw0rd!');
    expect(password.code).toBe(1);
    expect(password.stderr).toMatch(/^fhirgate: sign-in failed for alice: .+\n$/);
  });
});
