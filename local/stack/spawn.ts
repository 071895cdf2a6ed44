/**
 * Start `local/stack/main.ts` as a child process on free ports (for tests, the load run and the
 * bench) and wait for its stack.json. The caller stops it with `stop()` (SIGTERM, then waits).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackInfo } from '../../bin/cli/stack-info';

const ROOT = join(__dirname, '../..');
const FREE_PORTS = { FHIRGATE_PORT: '0', FHIRGATE_COGNITO_PORT: '0', FHIRGATE_TOKEN_PORT: '0', FHIRGATE_DYNAMODB_PORT: '0', FHIRGATE_FHIR_PORT: '0', FHIRGATE_PORTAL_PORT: '0' };

export interface SpawnedStack {
  readonly info: StackInfo;
  readonly child: ChildProcess;
  readonly dir: string;
  /** Everything the stack printed on stdout (the summary). */
  stdout(): string;
  /** What it logged on stderr, the latest 1 MB (one JSON record per line: audit and denials). */
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * Spawn the stack in a fresh temporary directory with every port free; `env` adds settings.
 * `nodeArgs` runs it as `node <nodeArgs> --import tsx` instead of through the tsx CLI (the bench
 * profiles with `--cpu-prof`, which NODE_OPTIONS refuses).
 */
export async function spawnLocalStack(env: Record<string, string> = {}, timeoutMs = 60_000, nodeArgs?: readonly string[]): Promise<SpawnedStack> {
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-stack-'));
  const options = { cwd: ROOT, env: { ...process.env, ...FREE_PORTS, FHIRGATE_DIR: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  const child = nodeArgs
    ? spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'local/stack/main.ts'], options)
    : spawn(join(ROOT, 'node_modules/.bin/tsx'), ['local/stack/main.ts'], options);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  // Request logs: a load run writes megabytes; keep the latest 1 MB.
  child.stderr!.on('data', (d) => (err = (err + d).slice(-1_000_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const until = Date.now() + timeoutMs;
  let info: StackInfo | undefined;
  while (!info) {
    if (child.exitCode !== null) throw new Error(`the local stack exited during start (${child.exitCode}):\n${out}\n${err.slice(-2000)}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`the local stack was not ready in ${timeoutMs} ms:\n${out}`);
    }
    try {
      info = JSON.parse(await readFile(join(dir, 'stack.json'), 'utf8')) as StackInfo;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    info,
    child,
    dir,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
