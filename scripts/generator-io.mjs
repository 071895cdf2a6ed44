/**
 * Input/output shared by the table generators (gen-compartment.mjs, gen-search-params.mjs): where
 * the definitions live, argument parsing, and the write-or-compare step. What each generator
 * converts and how it renders stays in its own file.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PKG = join(ROOT, 'node_modules', '@medplum', 'definitions');
export const R4 = join(PKG, 'dist', 'fhir', 'r4');

/** A `fail(message)` that throws with the generator's name in front (the run exits 2). */
export function failer(name) {
  return (message) => {
    throw new Error(`${name}: ${message}`);
  };
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function quoteKey(key) {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `'${key}'`;
}

/** `path` relative to the repo root with `/` separators, so output is the same on every OS. */
export function label(path) {
  return relative(ROOT, path).split('\\').join('/');
}

/**
 * Parses `[--check] [--file PATH]` plus the generator's own input flags. `inputs` maps each extra
 * flag to its option name (`{ '--search-parameters': 'searchParameters' }`); those options stay
 * undefined unless given, and every path is resolved against the working directory.
 */
export function parseArgs(argv, { target, inputs, fail }) {
  const options = { check: false, file: target };
  for (const key of Object.values(inputs)) options[key] = undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a path`);
    if (arg === '--check') options.check = true;
    else if (arg === '--file') options.file = resolve(value());
    // Own properties only: `__proto__` and friends are unknown arguments, not inputs.
    else if (Object.hasOwn(inputs, arg)) options[inputs[arg]] = resolve(value());
    else fail(`unknown argument ${arg}`);
  }
  return options;
}

/**
 * Writes `output` to `options.file`, or with `--check` compares it instead: a stale (or missing)
 * file sets exit code 1 and names the first differing line and the `regenerate` command.
 * `summary` is the counts shown in parentheses.
 */
export function writeOrCheck(options, output, { summary, regenerate }) {
  if (options.check) {
    const current = existsSync(options.file) ? readFileSync(options.file, 'utf8') : '';
    if (current !== output) {
      const a = current.split('\n');
      const b = output.split('\n');
      let line = 0;
      while (line < a.length && a[line] === b[line]) line++;
      process.stderr.write(
        `${label(options.file)} is stale (first difference at line ${line + 1}); ` +
          `run \`${regenerate}\` and commit the result.\n`,
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${label(options.file)} is up to date (${summary}).\n`);
    return;
  }
  writeFileSync(options.file, output);
  process.stdout.write(`wrote ${label(options.file)} (${summary}).\n`);
}

/** Runs `main`; any error (a `fail`, a missing or malformed input) prints its message and exits 2. */
export function run(main) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
