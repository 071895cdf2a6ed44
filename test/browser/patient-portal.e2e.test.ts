/**
 * The example patient portal in a real browser (Debian's Chromium through playwright-core)
 * against the real local stack: a SMART App Launch with fhirclient (`FHIR.oauth2.authorize()`
 * with `pkceMode: "required"` → fhirgate → the local Cognito sign-in → fhirgate's patient picker
 * → `FHIR.oauth2.ready()`), then the FHIR API called directly from the page's origin with the
 * launch's access token. Each case says what it clicks and what must, and must never, appear.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { launchChromium } from '../../local/portal/chromium';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(90_000);

let stack: SpawnedStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every request the page made to fhirgate's /auth routes, in order. */
let authRequests: Request[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([spawnLocalStack({ FHIRGATE_PORTAL_PORT: '0' }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * Every case starts in a fresh profile with a watcher that records, after every DOM change, which
 * of the `watched` strings were ever on the page — so "never shown" covers transient states too,
 * not just the final one. Each case also watches something that must show, proving the watcher sees.
 */
async function openPortal(watched: readonly string[]): Promise<void> {
  await context?.close();
  context = await browser.newContext();
  await context.addInitScript(`(() => {
    if (location.origin !== ${JSON.stringify(new URL(stack.info.portalUrl).origin)}) return;
    const watched = ${JSON.stringify(watched)};
    window.__seen = new Set();
    new MutationObserver(() => {
      const html = document.documentElement.outerHTML;
      for (const w of watched) if (html.includes(w)) window.__seen.add(w);
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  })()`);
  page = await context.newPage();
  authRequests = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/auth/')) authRequests.push(r);
  });
  await page.goto(stack.info.portalUrl);
}

/** Click "Sign in" in the portal and sign in on the local Cognito page; stops at the picker or back in the portal. */
async function signIn(username: string, password = stack.info.users.find((u) => u.username === username)!.password): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** In fhirgate's picker: the patients offered, then choose one. */
async function pick(patientId: string): Promise<string[]> {
  await page.locator('#patients').waitFor();
  const offered = await page.locator('input[name=patient]').evaluateAll((inputs) => inputs.map((i) => i.getAttribute('value') ?? ''));
  await page.locator(`input[name=patient][value="${patientId}"]`).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  return offered;
}

/** Wait until the view for `patientId` is complete (shown or refused); a launch is several round trips, so allow for a loaded CI machine. */
async function loaded(patientId: string): Promise<void> {
  await page.locator(`[data-testid=record][data-loaded="${patientId}"]`).waitFor({ timeout: 30_000 });
}

const rowIds = (testid: string) => page.getByTestId(testid).locator('[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')).sort());
/** The watched strings that were ever on the page, sorted. */
const seen = () => page.evaluate('[...window.__seen].sort()') as Promise<string[]>;

// Bob's name, birth date and resource ids: none may ever reach alice's page. ("pat-bob" may: it
// is the id alice herself asks for below, echoed in the refusal.)
const BOBS_DATA = ['Bob', '1975-09-30', 'DEMO-0002', 'obs-bob-', 'cond-bob-'];

test('alice launches with fhirclient (PKCE S256), lands on her own record, renews the token, signs out', async () => {
  await openPortal([...BOBS_DATA, 'obs-alice-']);
  await signIn('alice');
  await loaded('pat-alice');
  // fhirclient's authorize request: PKCE S256 and aud = the FHIR base (pkceMode "required").
  const authorize = new URL(authRequests.find((r) => new URL(r.url()).pathname === '/auth/authorize')!.url());
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('aud')).toBe(stack.info.fhirBaseUrl);
  // getFhirUser() from the id_token; getPatientId() from the token response.
  await expect(page.getByTestId('who-name').textContent()).resolves.toBe('Patient/pat-alice');
  await expect(page.getByTestId('patient-name').textContent()).resolves.toBe('Alice Demo');
  expect(await rowIds('vitals')).toEqual(['obs-alice-heart-rate', 'obs-alice-weight-2019']);
  expect(await rowIds('labs')).toEqual(['obs-alice-glucose']);
  expect(await rowIds('conditions')).toEqual(['cond-alice-1']);
  expect(await page.getByTestId('error').isHidden()).toBe(true);
  // No code or state left in the address bar.
  expect(new URL(page.url()).search).toBe('');
  expect(await seen()).toEqual(['obs-alice-']); // (the watcher starts over with each page load below)

  // "Renew": fhirclient's refresh() with the rotating refresh token.
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/auth/token') && (r.request().postData() ?? '').includes('grant_type=refresh_token'));
  await page.getByRole('button', { name: 'Renew' }).click();
  expect((await refreshed).status()).toBe(200);
  await page.reload();
  await loaded('pat-alice'); // the refreshed session survives a reload (sessionStorage)

  await page.getByRole('button', { name: 'Sign out' }).click();
  expect(await page.getByTestId('sign-in-form').isVisible()).toBe(true);
  expect(await page.getByTestId('record').isHidden()).toBe(true);
  expect(await page.locator('body').innerHTML()).not.toMatch(/Alice Demo|obs-alice-/);
  await page.reload();
  expect(await page.getByTestId('sign-in-form').isVisible()).toBe(true);
});

test("alice opens a link to Bob (#patient=pat-bob) → the 404 OperationOutcome text, and none of Bob's data, ever", async () => {
  await openPortal([...BOBS_DATA, 'Alice Demo']);
  await signIn('alice');
  await loaded('pat-alice');
  await page.goto(`${stack.info.portalUrl}#patient=pat-bob`);
  await loaded('pat-bob');
  await expect(page.getByTestId('error').textContent()).resolves.toMatch(/^pat-bob: /);
  expect(await page.locator('#details').isHidden()).toBe(true);
  expect(await seen()).toEqual(['Alice Demo']);
});

test('carols-mother (guardian) picks her child in fhirgate\'s picker — offered nobody else — and lands on Carol', async () => {
  await openPortal(['Alice Demo', 'obs-alice-', 'Bob', 'Carol Demo']);
  await signIn('carols-mother');
  expect(await pick('pat-carol')).toEqual(['pat-carol']);
  await loaded('pat-carol');
  await expect(page.getByTestId('who-name').textContent()).resolves.toBe('RelatedPerson/rp-carol-mother');
  await expect(page.getByTestId('patient-name').textContent()).resolves.toBe('Carol Demo');
  expect(await rowIds('vitals')).toEqual(['obs-carol-heart-rate']);
  expect(await seen()).toEqual(['Carol Demo']);
});

test('dr-demo (practitioner) picks from her panel only and cannot reach another patient', async () => {
  await openPortal(['Bob', 'Carol', 'Dave', 'Alice Demo']);
  await signIn('dr-demo');
  expect(await pick('pat-alice')).toEqual(['pat-alice']);
  await loaded('pat-alice');
  expect(await rowIds('labs')).toEqual(['obs-alice-glucose']);
  await page.goto(`${stack.info.portalUrl}#patient=pat-bob`);
  await loaded('pat-bob');
  await expect(page.getByTestId('error').textContent()).resolves.toMatch(/^pat-bob: /);
  expect(await seen()).toEqual(['Alice Demo']);
});

test('a wrong password → the sign-in page says so and nothing reaches the portal', async () => {
  await openPortal([]);
  await signIn('alice', 'not-the-password');
  await expect(page.locator('#error').textContent()).resolves.toMatch(/password/i);
  expect(authRequests.some((r) => new URL(r.url()).pathname === '/auth/callback')).toBe(false);
});
