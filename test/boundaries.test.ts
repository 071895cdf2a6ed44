/**
 * Who may import whom (docs/design.md "Layout"), read from every import in the tree:
 * - `functions/**` (what ships in a Lambda) imports nothing from `local/`, `lib/`, `bin/`, `test/`;
 *   a handler folder never imports another handler folder (shared I/O lives in `adapters/`);
 * - `bin/` (the CDK app and the admin CLI) and `lib/` (the CDK constructs) never import `local/`;
 * - what runs from an installed package (the Lambdas, the CLI) needs only `dependencies`:
 *   every package they reach at run time, through any chain of relative imports, is listed there.
 * The purity of `functions/core` has its own test (core/purity.test.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const HANDLERS = ['authorizer', 'fhir-proxy', 'token-exchange'];

interface Import {
  readonly spec: string;
  /** `import type …` / `export type …`: erased at compile time, nothing loaded at run time. */
  readonly typeOnly: boolean;
}

/** Every import, export-from, require() and import() in a source file. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const statement = /^\s*(import|export)(\s+type)?\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(statement)) found.push({ spec: (m[3] ?? m[4] ?? m[5] ?? m[6])!, typeOnly: Boolean(m[2]) });
  return found;
}

function sourceFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .map((f) => join(abs, f))
    .filter((f) => /\.(ts|cjs|mjs|js)$/.test(f) && !f.endsWith('.d.ts') && statSync(f).isFile());
}

/** The repository path a relative import lands on (`functions/core/scopes.ts`), or undefined for a package. */
function target(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const hit = [base, `${base}.ts`, `${base}.cjs`, `${base}.js`, join(base, 'index.ts')].find((f) => existsSync(f) && statSync(f).isFile());
  return relative(ROOT, hit ?? base);
}

/** `from → to` for every relative import of the files under `dir` that lands in one of `forbidden`. */
function crossings(dir: string, forbidden: (file: string, to: string) => boolean): string[] {
  return sourceFiles(dir).flatMap((file) =>
    importsOf(file)
      .map(({ spec }) => target(file, spec))
      .filter((to): to is string => to !== undefined && forbidden(relative(ROOT, file), to))
      .map((to) => `${relative(ROOT, file)} → ${to}`),
  );
}

const under = (to: string, ...dirs: string[]) => dirs.some((d) => to === d || to.startsWith(`${d}/`));

test('the trees this test guards have files (a moved folder must not make it pass vacuously)', () => {
  for (const dir of ['functions', 'bin/cli', 'lib', 'local']) expect(sourceFiles(dir).length).toBeGreaterThan(5);
});

test('functions/** imports nothing from local/, lib/, bin/ or test/', () => {
  expect(crossings('functions', (_f, to) => under(to, 'local', 'lib', 'bin', 'test', 'examples'))).toEqual([]);
});

test('a handler never imports another handler (shared I/O lives in functions/adapters)', () => {
  const handlerOf = (path: string) => HANDLERS.find((h) => under(path, `functions/${h}`));
  expect(crossings('functions', (file, to) => handlerOf(file) !== undefined && handlerOf(to) !== undefined && handlerOf(file) !== handlerOf(to))).toEqual([]);
});

test('functions/adapters imports no handler (handlers import adapters, not the other way round)', () => {
  expect(crossings('functions/adapters', (_f, to) => HANDLERS.some((h) => under(to, `functions/${h}`)))).toEqual([]);
});

test('bin/ (CDK app, admin CLI) and lib/ (CDK constructs) import nothing from local/', () => {
  expect([...crossings('bin', (_f, to) => under(to, 'local', 'test')), ...crossings('lib', (_f, to) => under(to, 'local', 'bin', 'test'))]).toEqual([]);
});

describe('what runs from an installed package needs only `dependencies`', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const builtins = new Set(builtinModules);
  const packageName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

  /** Packages loaded at run time by `entries` and every file they reach through relative imports. */
  function runtimePackages(entries: string[]): Map<string, string> {
    const seen = new Set<string>();
    const packages = new Map<string, string>();
    const queue = entries.map((e) => join(ROOT, e));
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const { spec, typeOnly } of importsOf(file)) {
        if (typeOnly) continue;
        const to = target(file, spec);
        if (to !== undefined) {
          if (existsSync(join(ROOT, to))) queue.push(join(ROOT, to));
        } else if (!spec.startsWith('node:') && !builtins.has(spec)) {
          packages.set(packageName(spec), relative(ROOT, file));
        }
      }
    }
    return packages;
  }

  test.each([
    ['the admin CLI', ['bin/fhirgate.cjs', 'bin/cli/main.ts']],
    ['the Lambda entries', HANDLERS.map((h) => `functions/${h}/index.ts`)],
  ])('%s', (_name, entries) => {
    const missing = [...runtimePackages(entries)].filter(([name]) => !(name in pkg.dependencies)).map(([name, file]) => `${name} (imported by ${file})`);
    expect(missing).toEqual([]);
  });
});
