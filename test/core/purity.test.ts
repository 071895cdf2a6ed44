/**
 * functions/core is the pure domain (docs/design.md "Layout"): no AWS SDK, no Lambda types, no
 * network, no file system. The check reads every import: other core modules, and the few kept
 * libraries that are pure functions themselves (rfc6902 JSON Patch).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CORE = join(__dirname, '../../functions/core');
const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'));
/** Pure libraries core may use: no I/O, no globals, no AWS. */
const PURE_LIBRARIES = ['rfc6902'];

test('core has source files to check', () => {
  expect(files.length).toBeGreaterThan(5);
});

test.each(files)('%s imports only other core modules', (file) => {
  const text = readFileSync(join(CORE, file), 'utf8');
  expect(text).not.toMatch(/aws-sdk|aws-lambda|node:http/);
  const statements = /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  const imports = [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
  expect(imports.filter((spec) => !spec?.startsWith('./') && !PURE_LIBRARIES.includes(spec!.split('/')[0]!))).toEqual([]);
});
