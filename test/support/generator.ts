/**
 * Shared by the tests of the table generators (scripts/gen-*.mjs): run a generator as its own
 * process, write altered copies of its inputs, and check that the committed table is fresh.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const R4 = join(ROOT, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');

export interface GeneratorRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface SearchParameterJson {
  id: string;
  expression?: string;
  base?: string[];
}

export interface Generator {
  /** The committed file the generator writes by default. */
  readonly committed: string;
  /** A temporary directory for this test file's outputs and inputs (removed after all tests). */
  readonly dir: string;
  /** Runs the generator with `args` from the repo root. */
  generate(...args: string[]): GeneratorRun;
  /** Writes a copy of search-parameters.json with one SearchParameter edited; returns its path. */
  searchParametersWith(id: string, edit: (sp: SearchParameterJson) => void): string;
}

/**
 * A harness for `scripts/<name>.mjs`, whose committed output is `committed` (relative to the repo
 * root). Call it at the top level of a test file: it registers the beforeAll/afterAll that create
 * and remove the temporary directory.
 */
export function useGenerator(name: string, committed: string): Generator {
  const script = join(ROOT, 'scripts', `${name}.mjs`);
  let dir: string | undefined;
  let copies = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `${name}-`));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const harness: Generator = {
    committed: join(ROOT, committed),
    get dir() {
      if (!dir) throw new Error('the generator temp dir exists only while tests run');
      return dir;
    },
    generate(...args) {
      const run = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: 'utf8' });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    },
    searchParametersWith(id, edit) {
      const bundle = JSON.parse(readFileSync(join(R4, 'search-parameters.json'), 'utf8')) as {
        entry: { resource: SearchParameterJson }[];
      };
      const entry = bundle.entry.find((e) => e.resource.id === id);
      if (!entry) throw new Error(`no SearchParameter ${id}`);
      edit(entry.resource);
      // One file per copy: a test may hold several altered inputs at once.
      const path = join(harness.dir, `sp-${id}-${++copies}.json`);
      writeFileSync(path, JSON.stringify(bundle));
      return path;
    },
  };
  return harness;
}

export interface FreshnessSpec {
  /** The npm script that regenerates the committed file (named in the first test's title). */
  regenerate: string;
  /** What `--check` prints on stdout for the committed file. */
  upToDate: RegExp;
  /** What the altered copy lacks, for the test title: `path`, `param`. */
  removed: string;
  /** Text in the committed file, and what to replace it with to make the altered copy. */
  find: string;
  replace: string;
}

/**
 * The committed file must be exactly what the generator produces now, and `--check` must notice
 * when it is not (an altered copy, a missing file).
 */
export function describeCommittedIsFresh(gen: Generator, spec: FreshnessSpec): void {
  describe('committed table is fresh', () => {
    test(`--check passes on the committed file (fails when it is stale: run ${spec.regenerate})`, () => {
      const run = gen.generate('--check');
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(spec.upToDate);
      expect(run.status).toBe(0);
    });

    test('a fresh generation is byte-identical to the committed file', () => {
      const out = join(gen.dir, 'fresh.ts');
      const run = gen.generate('--file', out);
      expect(run.status).toBe(0);
      expect(readFileSync(out)).toEqual(readFileSync(gen.committed));
    });

    test(`--check reports a copy with one ${spec.removed} removed as stale`, () => {
      const altered = join(gen.dir, 'altered.ts');
      const committed = readFileSync(gen.committed, 'utf8');
      const edited = committed.replace(spec.find, spec.replace);
      expect(edited).not.toBe(committed);
      writeFileSync(altered, edited);
      const run = gen.generate('--check', '--file', altered);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/altered\.ts is stale \(first difference at line \d+\)/);
    });

    test('--check reports a missing file as stale', () => {
      const run = gen.generate('--check', '--file', join(gen.dir, 'missing.ts'));
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/is stale/);
    });
  });
}
