/**
 * `fhirgate smoke` end to end: the real CLI process against the real local stack (`npm start` on
 * free ports). Every check passes, the throwaway user, link and patients are gone afterwards, and
 * a deployment that breaks a promise makes it fail (exit 1, the check named).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, runCli, startStack, TestStack } from './support';

jest.setTimeout(120_000);

let stack: TestStack;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

test('every core promise holds against the local stack, and nothing is left behind', async () => {
  const usersBefore = json(await cli('--json', 'links', 'list'));
  // fhirgate --local --json smoke
  const r = await cli('--json', 'smoke');
  const report = json(r);
  expect({ code: r.code, failed: report.checks.filter((c: { ok: boolean }) => !c.ok) }).toEqual({ code: 0, failed: [] });
  expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
    'discovery: SMART configuration is public',
    'discovery: CapabilityStatement is public',
    'App Launch: an unregistered app is refused without a redirect (400)',
    'no token: 401 with a Bearer challenge',
    'user token: own patient is readable (200)',
    'user token: another patient reads as missing (404)',
    'paging: the next link works for its caller',
    'token exchange (RFC 8693) issues an on-behalf-of token',
    "exchanged token: its patient 200, the user's other patient 404",
    'paging: the same link is refused for another caller',
  ]);
  expect(r.stderr).toBe('');
  // Cleanup: the link records are what they were; the smoke patients are gone from the store.
  expect(json(await cli('--json', 'links', 'list'))).toEqual(usersBefore);
  const left = await fetch(`${stack.info.backendFhirBaseUrl}/Patient?name=fhirgate%20smoke`).then((res) => res.json() as Promise<{ entry?: unknown[] }>);
  expect(left.entry ?? []).toEqual([]);
});

test('human output: one ok line per check and a summary', async () => {
  const r = await cli('smoke');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^ok {4}discovery: SMART configuration is public$/m);
  expect(r.stdout).toMatch(/^all 10 checks passed against /m);
});

test('a deployment without the enforcement in front of FHIR fails, naming the broken promises', async () => {
  // The same stack described with its FHIR base pointing straight at the FHIR store: no authorizer, no PEP.
  const dir = mkdtempSync(join(tmpdir(), 'fhirgate-smoke-open-'));
  const info = JSON.parse(readFileSync(join(stack.dir, 'stack.json'), 'utf8'));
  writeFileSync(join(dir, 'stack.json'), JSON.stringify({ ...info, fhirBaseUrl: info.backendFhirBaseUrl }));
  const r = await runCli(['--local', '--json', 'smoke'], { dir });
  expect(r.code).toBe(1);
  const failed = json(r).checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name);
  expect(failed).toEqual(expect.arrayContaining(['no token: 401 with a Bearer challenge', 'user token: another patient reads as missing (404)']));
});
