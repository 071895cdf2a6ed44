/**
 * Jest: TypeScript through ts-jest (transpile only: `npm test` type-checks the whole tree with tsc
 * first); tests mirror the source tree under test/. Three projects, one rule each, so a new test
 * file lands in the right one by where it lives and how it is named:
 *
 * - unit: pure and fast (no server, no child process, no emulator): test/core (except the
 *   `*-data` checks, which regenerate tables from the FHIR definitions), test/*.test.ts (the
 *   boundary test) and any `*.unit.test.ts`. `npm run test:unit` is the inner loop.
 * - e2e: real processes: `*.e2e.test.ts`, test/browser (Chromium), test/cli (the CLI process),
 *   test/bench and test/load (their smoke runs).
 * - integration: everything else (real handlers against dynalite, the FHIR store, test issuers).
 *
 * `npm test` runs all three.
 */
const { readdirSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

const TEST_DIR = join(__dirname, 'test');

/** Every `*.test.ts` under test/, as a path relative to the repository (forward slashes). */
function testFiles(dir = TEST_DIR) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(__dirname, path).split(sep).join('/')] : [];
  });
}

/** The project a test file belongs to. */
function projectOf(file) {
  if (file.endsWith('.unit.test.ts')) return 'unit';
  if (file.endsWith('.e2e.test.ts') || /^test\/(browser|cli|bench|load)\//.test(file)) return 'e2e';
  if (/^test\/[^/]+\.test\.ts$/.test(file)) return 'unit';
  if (file.startsWith('test/core/') && !file.endsWith('-data.test.ts')) return 'unit';
  return 'integration';
}

const files = testFiles();
const project = (name) => ({
  displayName: name,
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: files.filter((f) => projectOf(f) === name).map((f) => `<rootDir>/${f}`),
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
});

module.exports = { projects: ['unit', 'integration', 'e2e'].map(project) };
