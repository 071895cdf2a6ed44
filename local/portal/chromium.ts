/**
 * Launch the system's Chromium (Debian's `/usr/bin/chromium`) through playwright-core, which
 * ships no browser and downloads none. Used by the browser tests and the screenshot script.
 * A missing browser is an error that says how to install it — never a silent skip.
 */
import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';

/** `FHIRGATE_CHROMIUM` points at another Chromium build (e.g. on macOS). */
export const CHROMIUM_PATH = process.env.FHIRGATE_CHROMIUM || '/usr/bin/chromium';

/**
 * Headless, no sandbox (CI runs as root), and nothing that calls home: the tests' only network
 * is loopback. Playwright gives every launch a new empty profile (user data dir).
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch Chromium, or throw saying how to install it. */
export async function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}. The browser tests drive a real Chromium: install it with ` +
        '`apt-get update && apt-get install -y chromium` (.ci/run does this), or set FHIRGATE_CHROMIUM to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath, args: ARGS, timeout: 30_000 });
}
