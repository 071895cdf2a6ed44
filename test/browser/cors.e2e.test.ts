/**
 * CORS in a real browser: the same page, holding a valid access token, served from an origin on
 * the allow-list reads `GET Patient`; served from any other origin it cannot — the browser's
 * preflight gets no CORS answer and `fetch` rejects ("TypeError: Failed to fetch"). The
 * allow-list is the portal's own origin plus FHIRGATE_CORS_ORIGINS.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../local/portal/chromium';
import { StaticServer, startStaticServer } from '../../local/portal/static-server';
import { signIn } from '../../local/stack/clients';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(90_000);

let stack: SpawnedStack;
let browser: Browser;
let allowed: StaticServer;
let other: StaticServer;
let token: string;

beforeAll(async () => {
  // Two servers of the same probe page: only their ports (so their origins) differ.
  const probe = join(__dirname, 'cors-probe');
  [allowed, other] = await Promise.all([startStaticServer(probe, 0), startStaticServer(probe, 0)]);
  [stack, browser] = await Promise.all([spawnLocalStack({ FHIRGATE_PORTAL_PORT: '0', FHIRGATE_CORS_ORIGINS: allowed.origin }), launchChromium()]);
  token = await signIn(stack.info, 'alice');
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await allowed?.close();
  await other?.close();
});

/** Open the probe page at `pageUrl`, return what its script reported and the console's errors. */
async function probe(pageUrl: string): Promise<{ outcome: { read: boolean; status?: number; ids?: string[]; error?: string }; console: string[] }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    await page.goto(`${pageUrl}#${new URLSearchParams({ base: stack.info.fhirBaseUrl, token })}`);
    const result = page.getByTestId('result');
    await result.filter({ hasText: /\S/ }).waitFor({ timeout: 15_000 });
    return { outcome: JSON.parse((await result.textContent())!), console };
  } finally {
    await context.close();
  }
}

test('stack.json lists the allowed origins: the portal\'s own, then FHIRGATE_CORS_ORIGINS', () => {
  expect(stack.info.corsAllowedOrigins).toEqual([new URL(stack.info.portalUrl).origin, allowed.origin]);
  expect(stack.stdout()).toContain(`CORS origins         ${new URL(stack.info.portalUrl).origin}, ${allowed.origin}`);
});

test('the page on an allowed origin (FHIRGATE_CORS_ORIGINS) reads GET Patient: alice\'s own patient', async () => {
  const { outcome } = await probe(allowed.url);
  expect(outcome).toEqual({ read: true, status: 200, ids: ['pat-alice'] });
});

test('the same page on a disallowed origin (another port) cannot read the API: TypeError, blocked by CORS', async () => {
  const { outcome, console } = await probe(other.url);
  expect(outcome).toEqual({ read: false, error: 'TypeError: Failed to fetch' });
  // The browser says why: CORS, not the network or the page's CSP.
  expect(console.join('\n')).toMatch(/blocked by CORS policy/);
});

test('`localhost` is not `127.0.0.1`: the allowed server reached as http://localhost:<port> is another origin, refused', async () => {
  const { outcome, console } = await probe(allowed.url.replace('127.0.0.1', 'localhost'));
  expect(outcome).toEqual({ read: false, error: 'TypeError: Failed to fetch' });
  expect(console.join('\n')).toMatch(/from origin 'http:\/\/localhost:\d+' has been blocked by CORS policy/);
});
