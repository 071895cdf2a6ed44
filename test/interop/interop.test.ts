/**
 * The interop suite: one real local stack (Cognito emulator, dynalite, the FHIR store, the API
 * Gateway emulation with the real handlers), driven by client libraries nobody here wrote —
 * fhirclient, fhir-kit-client, Medplum's client, oauth4webapi, openid-client, jose and the AWS SDK — through
 * scenarios.ts, run in its own Node process (several of these libraries are ES modules only).
 * Prints the scenario × client × result table; every row must pass.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(180_000);

interface Row {
  scenario: string;
  client: string;
  ok: boolean;
  detail: string;
}

/** Every scenario × client the suite must show; a row missing from the run fails like a failed row. */
const EXPECTED: readonly (readonly [string, string])[] = [
  ['discovery', 'fhirclient'],
  ['discovery', 'oauth4webapi'],
  ['app launch: authorization code + PKCE', 'oauth4webapi'],
  ['discovery', 'openid-client'],
  ['discovery: verify every token kind', 'jose'],
  ['patient app', 'fhir-kit-client'],
  ['patient app', 'fhirclient'],
  ['patient app', 'medplum'],
  ['on behalf of', 'oauth4webapi'],
  ['on behalf of', 'openid-client'],
  ['backend services', 'oauth4webapi'],
  ['backend services', 'openid-client'],
  ['errors: FHIR API challenges (RFC 6750 §3)', 'oauth4webapi'],
  ['errors: token endpoint (RFC 6749 §5.2)', 'oauth4webapi'],
  ['errors: token endpoint (RFC 6749 §5.2)', 'openid-client'],
  ['errors: FHIR refusals as OperationOutcome', 'fhir-kit-client'],
];

const ROOT = join(__dirname, '../..');
let stack: SpawnedStack;
let rows: Row[] = [];

beforeAll(async () => {
  stack = await spawnLocalStack();
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['test/interop/scenarios.ts', join(stack.dir, 'stack.json')], { cwd: ROOT, timeout: 150_000 });
  rows = stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Row);
  const width = Math.max(...rows.map((r) => r.scenario.length));
  const table = rows.map((r) => `| ${r.scenario.padEnd(width)} | ${r.client.padEnd(15)} | ${r.ok ? 'pass' : 'FAIL'} | ${r.detail}`);
  // The table the closing note quotes.
  process.stdout.write(`\ninterop: scenario × client × result\n${table.join('\n')}\n`);
});
afterAll(() => stack?.stop());

test.each(EXPECTED)('%s × %s', (scenario, client) => {
  const row = rows.find((r) => r.scenario === scenario && r.client === client);
  expect(row).toBeDefined();
  expect({ ok: row!.ok, detail: row!.detail }).toEqual({ ok: true, detail: row!.detail });
});

test('no scenario ran that the list above does not name', () => {
  expect(rows.map((r) => [r.scenario, r.client])).toEqual(EXPECTED.map(([s, c]) => [s, c]));
});
