/**
 * Regenerate `docs/patient-portal.png` (the README's picture of the portal): start the local
 * stack on free ports, launch the portal as alice in Chromium (fhirgate's sign-in), wait for her
 * record, capture the page.
 *
 *   npx tsx examples/patient-portal/screenshot.ts [out.png]
 *
 * The tests never write into the repository; they only check that this file is there.
 */
import { resolve } from 'node:path';
import { launchChromium } from '../../local/portal/chromium';
import { spawnLocalStack } from '../../local/stack/spawn';

const OUT = resolve(process.argv[2] ?? resolve(__dirname, '../../docs/patient-portal.png'));

async function main(): Promise<void> {
  const stack = await spawnLocalStack({ FHIRGATE_PORTAL_PORT: '0' });
  const browser = await launchChromium().catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 800 }, deviceScaleFactor: 1 });
    await page.goto(stack.info.portalUrl);
    const alice = stack.info.users.find((u) => u.username === 'alice')!;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-testid=record][data-loaded=pat-alice]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: OUT, fullPage: true });
    process.stdout.write(`wrote ${OUT}\n`);
  } finally {
    await browser.close();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
