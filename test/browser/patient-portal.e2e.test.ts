/**
 * The example patient portal in a real browser (Debian's Chromium through playwright-core)
 * against the real local stack: sign-in with amazon-cognito-identity-js against cognito-local,
 * then the FHIR API called directly from the page's origin with the user's access token.
 * Each case says what it clicks and what must, and must never, appear on the page.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../local/portal/chromium';
import { signIn as apiSignIn } from '../../local/stack/clients';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(90_000);

let stack: SpawnedStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

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
    const watched = ${JSON.stringify(watched)};
    window.__seen = new Set();
    new MutationObserver(() => {
      const html = document.documentElement.outerHTML;
      for (const w of watched) if (html.includes(w)) window.__seen.add(w);
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  })()`);
  page = await context.newPage();
  await page.goto(stack.info.portalUrl);
}

async function signIn(username: string): Promise<void> {
  const user = stack.info.users.find((u) => u.username === username)!;
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Wait until the view for `patientId` is complete (shown or refused). */
async function loaded(patientId: string): Promise<void> {
  await page.locator(`[data-testid=record][data-loaded="${patientId}"]`).waitFor({ timeout: 15_000 });
}

const rowIds = (testid: string) => page.getByTestId(testid).locator('[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')).sort());
/** The watched strings that were ever on the page, sorted. */
const seen = () => page.evaluate('[...window.__seen].sort()') as Promise<string[]>;

/** What the API itself answers (from Node, with the user's token): the text the page must show. */
async function outcomeText(username: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stack.info.fhirBaseUrl}/${path}`, { headers: { authorization: `Bearer ${await apiSignIn(stack.info, username)}` } });
  return { status: res.status, text: ((await res.json()) as { issue: { details: { text: string } }[] }).issue[0]!.details.text };
}

// Bob's name, birth date and resource ids: none may ever reach alice's page. ("pat-bob" may: it
// is the id alice herself asks for below, echoed in the refusal.)
const BOBS_DATA = ['Bob', '1975-09-30', 'DEMO-0002', 'obs-bob-', 'cond-bob-'];

test('alice (patient) signs in and sees her own Patient, vitals and labs separately, and conditions — no picker', async () => {
  await openPortal([...BOBS_DATA, 'obs-alice-']);
  await signIn('alice');
  await loaded('pat-alice');
  await expect(page.getByTestId('who-name').textContent()).resolves.toBe('alice');
  await expect(page.getByTestId('patient-name').textContent()).resolves.toBe('Alice Demo');
  expect(await rowIds('vitals')).toEqual(['obs-alice-heart-rate', 'obs-alice-weight-2019']);
  expect(await rowIds('labs')).toEqual(['obs-alice-glucose']);
  expect(await rowIds('conditions')).toEqual(['cond-alice-1']);
  expect(await page.getByTestId('picker-area').isHidden()).toBe(true);
  expect(await page.getByTestId('error').isHidden()).toBe(true);
  expect(await seen()).toEqual(['obs-alice-']);
});

test('alice opens a link to Bob (#patient=pat-bob) → the 404 OperationOutcome text, and none of Bob\'s data, ever', async () => {
  await openPortal([...BOBS_DATA, 'Alice Demo']);
  await signIn('alice');
  await loaded('pat-alice');
  await page.goto(`${stack.info.portalUrl}#patient=pat-bob`);
  await loaded('pat-bob');
  const refusal = await outcomeText('alice', 'Patient/pat-bob');
  expect(refusal.status).toBe(404);
  await expect(page.getByTestId('error').textContent()).resolves.toBe(`pat-bob: ${refusal.text}`);
  expect(await page.locator('#details').isHidden()).toBe(true);
  expect(await seen()).toEqual(['Alice Demo']);
});

test('carols-mother (guardian) gets a picker over her linked patients, is refused a patient not hers, and switches back', async () => {
  await openPortal(['Alice Demo', 'obs-alice-', 'cond-alice-', 'Bob', 'Carol Demo']);
  await signIn('carols-mother');
  await loaded('pat-carol');
  // The picker lists exactly what `GET Patient` returned for her: her one child.
  const picker = page.getByTestId('patient-picker');
  expect(await picker.isVisible()).toBe(true);
  expect(await picker.locator('option').allTextContents()).toEqual(['Carol Demo']);
  expect(await picker.inputValue()).toBe('pat-carol');
  expect(await rowIds('vitals')).toEqual(['obs-carol-heart-rate']);
  expect(await rowIds('labs')).toEqual(['obs-carol-glucose']);

  // A link to another patient (Alice, whom she is not linked to): the API's refusal, verbatim.
  await page.goto(`${stack.info.portalUrl}#patient=pat-alice`);
  await loaded('pat-alice');
  const refusal = await outcomeText('carols-mother', 'Patient/pat-alice');
  await expect(page.getByTestId('error').textContent()).resolves.toBe(`pat-alice: ${refusal.text}`);
  expect(await page.locator('#details').isHidden()).toBe(true);

  // Back to Carol with the picker.
  await picker.selectOption('pat-carol');
  await loaded('pat-carol');
  await expect(page.getByTestId('patient-name').textContent()).resolves.toBe('Carol Demo');
  expect(await page.getByTestId('error').isHidden()).toBe(true);
  expect(await seen()).toEqual(['Carol Demo']);
});

test('dr-demo (practitioner) gets a picker over her panel: Alice only', async () => {
  await openPortal(['Bob', 'Carol', 'Dave', 'Alice Demo']);
  await signIn('dr-demo');
  await loaded('pat-alice');
  expect(await page.getByTestId('patient-picker').locator('option').allTextContents()).toEqual(['Alice Demo']);
  expect(await rowIds('labs')).toEqual(['obs-alice-glucose']);
  expect(await seen()).toEqual(['Alice Demo']);
});

test('a reload keeps the session (the library\'s sessionStorage); signing out leaves nothing of the record on the page', async () => {
  await openPortal([]);
  await signIn('alice');
  await loaded('pat-alice');
  await page.reload();
  await loaded('pat-alice');
  await page.getByRole('button', { name: 'Sign out' }).click();
  expect(await page.getByTestId('sign-in-form').isVisible()).toBe(true);
  expect(await page.getByTestId('record').isHidden()).toBe(true);
  expect(await page.locator('body').innerHTML()).not.toMatch(/Alice Demo|obs-alice-/);
});

test('a wrong password → Cognito\'s refusal on the sign-in form', async () => {
  await openPortal([]);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('sign-in-error').waitFor();
  expect(await page.getByTestId('sign-in-error').textContent()).toMatch(/password/i);
  expect(await page.getByTestId('record').isHidden()).toBe(true);
});
