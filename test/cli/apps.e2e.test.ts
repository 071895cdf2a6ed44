/**
 * `fhirgate apps …` end to end: the real CLI process registers, lists and revokes SMART apps in
 * the local stack's registry, and fhirgate's authorization endpoint follows the registry at once
 * (a registered app is sent to sign-in; a revoked or unknown one gets the error page).
 */
import { authorizeUrl, LaunchBrowser } from '../support/app-launch-client';
import { json, runCli, startStack, TestStack } from './support';

jest.setTimeout(120_000);

let stack: TestStack;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });
const REDIRECT = 'http://127.0.0.1:9/growth/';

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** GET /auth/authorize for `clientId` as a browser would. */
async function authorize(clientId: string) {
  const gateway = stack.info.fhirBaseUrl.replace(/\/fhir$/, '');
  return new LaunchBrowser().get(authorizeUrl(`${gateway}/auth/authorize`, { clientId, redirectUri: REDIRECT, aud: stack.info.fhirBaseUrl, scope: 'launch/patient patient/*.rs' }).url);
}

test('register → the app launches; list shows it; revoke → the authorization endpoint refuses it', async () => {
  expect((await authorize('growth-chart')).status).toBe(400);
  const registered = await cli('apps', 'register', '--client-id', 'growth-chart', '--redirect-uri', REDIRECT, '--scope', 'openid fhirUser launch/patient patient/Observation.rs', '--name', 'Growth chart', '--json');
  expect(registered.code).toBe(0);
  expect(json(registered)).toMatchObject({ clientId: 'growth-chart', status: 'active', redirectUris: [REDIRECT], replaced: null });
  const launched = await authorize('growth-chart');
  expect(launched.status).toBe(302);
  expect(new URL(launched.location!).pathname).toBe('/oauth2/authorize');

  const list = json<{ clientId: string; status: string }[]>(await cli('apps', 'list', '--json'));
  expect(list.map((a) => [a.clientId, a.status])).toEqual([
    ['growth-chart', 'active'],
    ['patient-portal', 'active'],
  ]);

  const again = await cli('apps', 'register', '--client-id', 'growth-chart', '--redirect-uri', REDIRECT, '--scope', 'patient/*.rs');
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already registered and active; pass --replace/);

  const revoked = await cli('apps', 'revoke', '--client-id', 'growth-chart', '--json');
  expect(json(revoked)).toMatchObject({ clientId: 'growth-chart', status: 'revoked', changed: true });
  const refused = await authorize('growth-chart');
  expect(refused.status).toBe(400);
  expect(refused.location).toBeUndefined();
});

test.each([
  ['a system/ scope', ['--redirect-uri', REDIRECT, '--scope', 'system/*.rs'], /patient\/ scopes/],
  ['an http redirect off loopback', ['--redirect-uri', 'http://apps.example.com/cb', '--scope', 'patient/*.rs'], /https/],
  ['a redirect with a fragment', ['--redirect-uri', 'https://apps.example.com/cb#x', '--scope', 'patient/*.rs'], /fragment/],
])('refused before anything is written: %s (exit 2)', async (_name, args, message) => {
  const result = await cli('apps', 'register', '--client-id', 'bad-app', ...args);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(json<{ clientId: string }[]>(await cli('apps', 'list', '--json')).map((a) => a.clientId)).not.toContain('bad-app');
});
