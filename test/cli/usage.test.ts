/**
 * The CLI's contract without a running stack: `--help` everywhere, and every bad invocation
 * answered with ONE `fhirgate: …` line on stderr and the documented exit code (2 usage, 1 failed).
 * Each case runs the real process: `node bin/fhirgate.cjs <args>`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsEnv, runCli, startFakeCloudFormation } from './support';

jest.setTimeout(60_000);

let emptyDir: string;
let badJsonDir: string;

beforeAll(async () => {
  emptyDir = await mkdtemp(join(tmpdir(), 'fhirgate-cli-empty-'));
  badJsonDir = await mkdtemp(join(tmpdir(), 'fhirgate-cli-badjson-'));
  await writeFile(join(badJsonDir, 'stack.json'), '{"fhirBaseUrl": "http://127.0.0.1:1/fhir"}');
});

afterAll(async () => {
  await rm(emptyDir, { recursive: true, force: true });
  await rm(badJsonDir, { recursive: true, force: true });
});

const COMMANDS = [[], ['users'], ['users', 'create'], ['links'], ['links', 'get'], ['links', 'put'], ['links', 'delete'], ['links', 'list'], ['links', 'add-patient'], ['links', 'remove-patient'], ['token'], ['whoami']];

test('--help works for every command (exit 0, usage on stdout, global options shown)', async () => {
  const results = await Promise.all(COMMANDS.map((c) => runCli([...c, '--help'])));
  results.forEach((r, i) => {
    const name = ['fhirgate', ...COMMANDS[i]!].join(' ');
    expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
    expect(r.stdout).toContain(`Usage: ${name}`);
    if (COMMANDS[i]!.length > 0) expect(r.stdout).toMatch(/--local[\s\S]*--stack <name>[\s\S]*--json/);
  });
});

// [case, args, exit code, the one stderr line]
const BAD: [string, string[], number, RegExp][] = [
  ['no target', ['links', 'get', '--user', 'alice'], 2, /^fhirgate: no target: pass --local .* or --stack <name>/],
  ['two targets', ['--local', '--stack', 'x', 'links', 'list'], 2, /^fhirgate: choose one target: --local or --stack <name>, not both$/],
  ['no stack.json', ['--local', 'links', 'list'], 1, /^fhirgate: no local stack: .*stack\.json not found \(start one with npm start, or set FHIRGATE_DIR\)$/],
  ['unknown role', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'nurse'], 2, /^fhirgate: option '--role <role>' argument 'nurse' is invalid\. Allowed choices are patient, practitioner, guardian\.$/],
  ['malformed patient id', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'guardian', '--patient', 'pat carol'], 2, /^fhirgate: option '--patient <id>' argument 'pat carol' is invalid\. not a FHIR id/],
  ['patient id too long', ['--local', 'links', 'add-patient', '--user', 'u', '--patient', 'x'.repeat(65)], 2, /^fhirgate: option '--patient <id>' argument 'x+' is invalid\. not a FHIR id/],
  ['malformed fhirUser', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'guardian', '--fhir-user', 'Observation/1'], 2, /^fhirgate: option '--fhir-user <reference>' argument 'Observation\/1' is invalid\. not a fhirUser reference/],
  ['malformed email', ['--local', 'users', 'create', '--email', 'alice', '--role', 'patient'], 2, /^fhirgate: option '--email <address>' argument 'alice' is invalid\. not an email address$/],
  ['missing required option', ['--local', 'users', 'create', '--role', 'patient'], 2, /^fhirgate: required option '--email <address>' not specified$/],
  ['patient user without a patient', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'patient'], 2, /^fhirgate: a patient user needs --patient <id>, --fhir-user Patient\/<id> or --create-patient$/],
  ['patient holding another patient', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'patient', '--patient', 'p1', '--patient', 'p2'], 2, /^fhirgate: link record is invalid: a patient cannot hold other patients \(use the guardian role\)$/],
  ['--create-patient with --patient', ['--local', 'users', 'create', '--email', 'a@example.com', '--role', 'guardian', '--patient', 'p1', '--create-patient'], 2, /^fhirgate: --create-patient creates the patient: do not also pass --patient$/],
  ['unknown command', ['--local', 'userz'], 2, /^fhirgate: unknown command 'userz'/],
  ['unknown option', ['--local', 'links', 'list', '--frobnicate'], 2, /^fhirgate: unknown option '--frobnicate'$/],
  ['token: user and client', ['--local', 'token', '--user', 'alice', '--client', 'analytics'], 2, /^fhirgate: option '--client <name>' cannot be used with option '--user <username>'$/],
  ['token: neither user nor client', ['--local', 'token'], 2, /^fhirgate: pass --user <username> or --client <name>$/],
  ['token: scope on a sign-in', ['--local', 'token', '--user', 'alice', '--scope', 'patient/*.rs'], 2, /^fhirgate: a user sign-in cannot request scopes/],
  ['whoami: empty token on stdin', ['--local', 'whoami', '--token', '-'], 2, /^fhirgate: no token given/],
  ['links put: contradicting options', ['--local', 'links', 'put', '--user', 'u', '--no-patients', '--patient', 'p1'], 2, /^fhirgate: --no-patients and --patient contradict each other$/],
];

test.each(BAD)('%s', async (_name, args, code, line) => {
  const r = await runCli(args, { dir: emptyDir });
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect({ code: r.code, stderr: r.stderr.trim(), stdout: r.stdout }).toEqual({ code, stderr: expect.stringMatching(line), stdout: '' });
});

test('a subcommand group without a subcommand shows its help and exits 2', async () => {
  const r = await runCli(['links']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('Usage: fhirgate links');
});

test('a stack.json that is not a fhirgate stack is refused in one line (exit 1)', async () => {
  const r = await runCli(['--local', 'links', 'list'], { dir: badJsonDir });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `fhirgate: ${join(badJsonDir, 'stack.json')} does not describe a fhirgate local stack (cognito or dynamodb missing)\n` });
});

test('--stack: a stack that does not exist, and one without fhirgate outputs (DescribeStacks, exit 1)', async () => {
  const cfn = await startFakeCloudFormation({ 'not-fhirgate': { BucketName: 'b' } });
  try {
    const env = awsEnv({ AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url });
    const [missing, foreign] = await Promise.all([
      runCli(['--stack', 'nope', 'links', 'list'], { env }),
      runCli(['--stack', 'not-fhirgate', 'links', 'list'], { env }),
    ]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: 'fhirgate: stack nope not found\n' });
    expect({ code: foreign.code, stderr: foreign.stderr }).toEqual({ code: 1, stderr: 'fhirgate: stack not-fhirgate has no output UserPoolId; is it a fhirgate stack?\n' });
    expect(cfn.requests.every((body) => new URLSearchParams(body).get('Action') === 'DescribeStacks')).toBe(true);
  } finally {
    await cfn.close();
  }
});
