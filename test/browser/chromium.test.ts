/**
 * The browser tests need a real Chromium. Without one they must fail, saying how to install it
 * — never skip silently (CI installs it in .ci/run).
 */
import { CHROMIUM_PATH, launchChromium } from '../../local/portal/chromium';

test('no Chromium at the path → an error naming the path and the apt-get command', async () => {
  await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(/Chromium not found at \/nonexistent\/chromium.*apt-get install -y chromium/s);
});

test('the default is Debian\'s /usr/bin/chromium (FHIRGATE_CHROMIUM overrides)', () => {
  expect(CHROMIUM_PATH).toBe(process.env.FHIRGATE_CHROMIUM || '/usr/bin/chromium');
});
