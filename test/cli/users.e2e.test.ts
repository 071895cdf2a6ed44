/**
 * `fhirgate users create` end to end: the real CLI process against the real local stack. A user
 * created by the CLI signs in (`fhirgate token --user`) and reads their own data through the
 * gateway; every failure leaves nothing behind (no Cognito user, no link, no Patient).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsEnv, gatewayGet, ids, json, runCli, startFakeCloudFormation, startStack, TestStack } from './support';

jest.setTimeout(120_000);

let stack: TestStack;
let brokenDir: string;
let stoppedDir: string;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });

beforeAll(async () => {
  stack = await startStack();
  // The same stack, but its links table is one that does not exist: every link write fails.
  brokenDir = await mkdtemp(join(tmpdir(), 'fhirgate-cli-broken-'));
  await writeFile(join(brokenDir, 'stack.json'), JSON.stringify({ ...stack.info, dynamodb: { ...stack.info.dynamodb, linksTable: 'no-such-table' } }));
  // A stack.json left behind by a stack that is no longer running.
  stoppedDir = await mkdtemp(join(tmpdir(), 'fhirgate-cli-stopped-'));
  const dead = 'http://127.0.0.1:1';
  await writeFile(join(stoppedDir, 'stack.json'), JSON.stringify({ ...stack.info, cognito: { ...stack.info.cognito, endpoint: dead }, dynamodb: { ...stack.info.dynamodb, endpoint: dead } }));
});

afterAll(async () => {
  await stack?.stop();
  for (const dir of [brokenDir, stoppedDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

async function backendStatus(path: string): Promise<number> {
  return (await fetch(`${stack.info.backendFhirBaseUrl}/${path}`)).status;
}

test('a patient user with a new Patient: created in one step, signs in, reads exactly their own record through the gateway', async () => {
  // fhirgate --local --json users create --email erin@example.com --username erin --role patient --create-patient …
  const created = await cli('--json', 'users', 'create', '--email', 'erin@example.com', '--username', 'erin', '--role', 'patient', '--create-patient', '--name', 'Erin Example', '--password', 'Erin-Passw0rd!');
  expect(created.code).toBe(0);
  const user = json(created);
  const patient: string = user.createdPatient;
  expect(user).toMatchObject({ username: 'erin', role: 'patient', group: 'patient', fhirUser: `Patient/${patient}`, patients: [patient], grants: { patients: [patient], scopes: ['patient/*.rs'] } });
  expect(user.note).toBe('This change reaches every request within 3 s: the authorizer result cache TTL (2 s) + the link cache TTL (1 s).');
  const stored = await (await fetch(`${stack.info.backendFhirBaseUrl}/Patient/${patient}`)).json();
  expect(stored).toMatchObject({ resourceType: 'Patient', name: [{ text: 'Erin Example' }], telecom: [{ system: 'email', value: 'erin@example.com' }] });

  // TOKEN=$(fhirgate --local token --user erin --password …)
  const signedIn = await cli('token', '--user', 'erin', '--password', 'Erin-Passw0rd!');
  expect(signedIn.code).toBe(0);
  const token = signedIn.stdout.trim();
  expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

  const own = await gatewayGet(stack, token, 'Patient');
  expect({ status: own.status, ids: ids(own.body) }).toEqual({ status: 200, ids: [patient] });
  expect((await gatewayGet(stack, token, `Patient/${patient}`)).status).toBe(200);
  expect((await gatewayGet(stack, token, 'Patient/pat-alice')).status).toBe(404);

  const link = json(await cli('--json', 'links', 'get', '--user', 'erin'));
  expect(link).toMatchObject({ username: 'erin', sub: user.sub, role: 'patient', patients: [patient], groups: ['patient'] });
});

test('a guardian of an existing patient, with a generated password: sees the dependent, nobody else', async () => {
  const created = await cli('--json', 'users', 'create', '--email', 'gina@example.com', '--role', 'guardian', '--patient', 'pat-carol', '--fhir-user', 'RelatedPerson/rp-gina');
  expect(created.code).toBe(0);
  const user = json(created);
  expect(user).toMatchObject({ username: 'gina@example.com', role: 'guardian', fhirUser: 'RelatedPerson/rp-gina', patients: ['pat-carol'], createdPatient: null });
  expect(user.password).toEqual(expect.any(String));

  const token = (await cli('token', '--user', 'gina@example.com', '--password', user.password)).stdout.trim();
  expect(ids((await gatewayGet(stack, token, 'Patient')).body)).toEqual(['pat-carol']);
  expect((await gatewayGet(stack, token, 'Patient/pat-bob')).status).toBe(404);
});

test('human output names the user, the link, what the authorizer grants and when it takes effect', async () => {
  const r = await cli('users', 'create', '--email', 'hal@example.com', '--role', 'practitioner', '--fhir-user', 'Practitioner/prac-1', '--patient', 'pat-alice', '--patient', 'pat-bob');
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^Created user hal@example\.com\n/);
  expect(r.stdout).toMatch(/role +practitioner \(Cognito group practitioner\)/);
  expect(r.stdout).toMatch(/patients +pat-alice, pat-bob/);
  expect(r.stdout).toMatch(/grants +user\/\*\.rs .* for pat-alice, pat-bob/);
  expect(r.stdout).toMatch(/This change reaches every request within 3 s/);
});

test("a weak --password is refused by the pool's own policy (DescribeUserPool), before anything is created", async () => {
  const r = await cli('users', 'create', '--email', 'weak@example.com', '--role', 'guardian', '--patient', 'pat-carol', '--password', 'Sh0rt!');
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: 'fhirgate: --password violates the user pool password policy: shorter than 8 characters\n' });
  expect((await cli('links', 'list')).stdout).not.toContain('weak@example.com');
});

test('a patient that is not in the FHIR store: exit 1, one line, nothing written', async () => {
  const r = await cli('users', 'create', '--email', 'ivy@example.com', '--role', 'guardian', '--patient', 'pat-carol', '--patient', 'pat-nobody');
  expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
    code: 1,
    stderr: `fhirgate: patient pat-nobody not found in the FHIR store (${stack.info.backendFhirBaseUrl})\n`,
    stdout: '',
  });
  const lookup = await cli('links', 'get', '--user', 'ivy@example.com');
  expect({ code: lookup.code, stderr: lookup.stderr }).toEqual({ code: 1, stderr: `fhirgate: user ivy@example.com not found in user pool ${stack.info.cognito.userPoolId}\n` });
});

test('rollback: the link write fails after the Cognito user was created → the user is deleted again', async () => {
  const r = await runCli(['--local', 'users', 'create', '--email', 'jo@example.com', '--role', 'guardian', '--patient', 'pat-carol'], { dir: brokenDir });
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    'fhirgate: writing the link record failed: links table no-such-table not found; rolled back: group guardian of jo@example.com, Cognito user jo@example.com (nothing was written)\n',
  );
  const lookup = await cli('links', 'get', '--user', 'jo@example.com');
  expect({ code: lookup.code, stderr: lookup.stderr }).toEqual({ code: 1, stderr: `fhirgate: user jo@example.com not found in user pool ${stack.info.cognito.userPoolId}\n` });
  // The user can be created properly afterwards: nothing was left to collide with.
  expect((await cli('users', 'create', '--email', 'jo@example.com', '--role', 'guardian', '--patient', 'pat-carol')).code).toBe(0);
});

test('rollback with --create-patient: the new Patient is deleted too', async () => {
  const r = await runCli(['--local', 'users', 'create', '--email', 'kim@example.com', '--role', 'patient', '--create-patient'], { dir: brokenDir });
  expect(r.code).toBe(1);
  const m = /rolled back: Patient\/([A-Za-z0-9\-.]+), group patient of kim@example\.com, Cognito user kim@example\.com \(nothing was written\)\n$/.exec(r.stderr);
  expect(m).not.toBeNull();
  expect([404, 410]).toContain(await backendStatus(`Patient/${m![1]}`));
  expect((await cli('links', 'get', '--user', 'kim@example.com')).code).toBe(1);
});

test('Cognito creation fails (the username exists) → no link is written; the existing user is untouched', async () => {
  const r = await cli('users', 'create', '--username', 'alice', '--email', 'mallory@example.com', '--role', 'guardian', '--patient', 'pat-bob');
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: 'fhirgate: user alice already exists (change their link with links put)\n' });
  const alice = json(await cli('--json', 'links', 'get', '--user', 'alice'));
  expect(alice).toMatchObject({ role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'], groups: ['patient'] });
});

test('a stack.json whose stack is not running: one line naming the cause (exit 1)', async () => {
  const r = await runCli(['--local', 'links', 'get', '--user', 'alice'], { dir: stoppedDir });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: 'fhirgate: looking up user alice failed: cannot reach Cognito (is the local stack running? npm start)\n' });
});

test('--stack: the outputs of a CloudFormation stack lead to the same user pool and links table', async () => {
  const { info } = stack;
  const cfn = await startFakeCloudFormation({
    // The output keys lib/fhirgate-stack.ts defines.
    'fhirgate-test': {
      UserPoolId: info.cognito.userPoolId,
      WebClientId: info.cognito.webClientId,
      ApiServerClientId: info.machineClients[0]!.clientId,
      LinksTableName: info.dynamodb.linksTable,
      FhirBaseUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/fhir',
      TokenExchangeUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/auth/token',
      JwksUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/auth/jwks.json',
      HealthLakeDatastoreId: '0123456789abcdef0123456789abcdef',
    },
  });
  try {
    // The standard SDK endpoint overrides stand in for AWS: cognito-local and dynalite.
    const env = awsEnv({
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: info.cognito.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: info.dynamodb.endpoint,
    });
    const aws = (...args: string[]) => runCli(['--stack', 'fhirgate-test', ...args], { env });

    expect(json(await aws('--json', 'links', 'get', '--user', 'bob'))).toMatchObject({ username: 'bob', role: 'patient', patients: ['pat-bob'] });

    const withPassword = await aws('users', 'create', '--email', 'lee@example.com', '--role', 'guardian', '--patient', 'pat-carol', '--password', 'Lee-Passw0rd!');
    expect({ code: withPassword.code, stderr: withPassword.stderr }).toEqual({ code: 2, stderr: 'fhirgate: --password is for the local stack only; in AWS Cognito emails a temporary password\n' });

    // In AWS without --fhir-url the patient ids cannot be checked: a warning, not a silent pass.
    const created = await aws('--json', 'users', 'create', '--email', 'lee@example.com', '--role', 'guardian', '--patient', 'pat-carol');
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(
      'fhirgate: warning: patient ids were NOT checked against the FHIR store (pass --fhir-url https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4 to check them)\n',
    );
    expect(json(created)).toMatchObject({ username: 'lee@example.com', password: null, patients: ['pat-carol'] });

    // With --fhir-url they are checked.
    const unknown = await aws('--fhir-url', info.backendFhirBaseUrl, 'users', 'create', '--email', 'max@example.com', '--role', 'guardian', '--patient', 'pat-nobody');
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: `fhirgate: patient pat-nobody not found in the FHIR store (${info.backendFhirBaseUrl})\n` });

  } finally {
    await cfn.close();
  }
});
