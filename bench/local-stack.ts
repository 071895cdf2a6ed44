/**
 * The local stack as `npm start` runs it (tsx local/stack/main.ts), in a child process on free
 * loopback ports with its state in a temp directory; stopped with SIGTERM (SIGKILL after 10 s).
 * Its request logs (stderr) and summary (stdout) are drained and kept only for error messages.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { StackInfo } from '../local/stack/stack-info';

const ROOT = resolve(__dirname, '..');

export interface BenchStack {
  readonly info: StackInfo;
  readonly pid: number;
  /** A user's access token from the local Cognito (InitiateAuth, USER_PASSWORD_AUTH). */
  signIn(username: string): Promise<string>;
  /** The last few KB the stack wrote to stderr (its request log), for error messages. */
  logTail(): string;
  stop(): Promise<void>;
}

/** `profileDir`: run the stack's Node processes with --cpu-prof, profiles written there on exit. */
export async function startBenchStack(options: { readyTimeoutMs?: number; profileDir?: string } = {}): Promise<BenchStack> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-stack-'));
  const env = {
    ...process.env,
    FHIRGATE_DIR: dir,
    FHIRGATE_PORT: '0',
    FHIRGATE_COGNITO_PORT: '0',
    FHIRGATE_TOKEN_PORT: '0',
    FHIRGATE_DYNAMODB_PORT: '0',
    FHIRGATE_FHIR_PORT: '0',
  };
  // --cpu-prof is refused in NODE_OPTIONS, so a profiled stack runs as `node --cpu-prof --import tsx`.
  const child: ChildProcess = options.profileDir
    ? spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--import', 'tsx', 'local/stack/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(join(ROOT, 'node_modules/.bin/tsx'), ['local/stack/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderrTail = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  // One JSON line per request: drained, only the tail kept for a failure message.
  child.stderr!.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-4000)));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const info = await waitForStackFile(child, join(dir, 'stack.json'), readyTimeoutMs, () => `${output}\n${stderrTail}`);
    const cognito = new CognitoIdentityProviderClient({ endpoint: info.cognito.endpoint, region: info.cognito.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    return {
      info,
      pid: child.pid!,
      async signIn(username) {
        const user = info.users.find((u) => u.username === username);
        if (!user) throw new Error(`no demo user ${username}`);
        const out = await cognito.send(
          new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: info.cognito.webClientId, AuthParameters: { USERNAME: user.username, PASSWORD: user.password } }),
        );
        const token = out.AuthenticationResult?.AccessToken;
        if (!token) throw new Error(`sign-in of ${username} returned no access token`);
        return token;
      },
      logTail: () => stderrTail,
      async stop() {
        cognito.destroy();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForStackFile(child: ChildProcess, file: string, deadlineMs: number, logs: () => string): Promise<StackInfo> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`local stack exited early (${child.exitCode}):\n${logs()}`);
    try {
      return JSON.parse(await readFile(file, 'utf8')) as StackInfo;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`local stack not ready in ${deadlineMs} ms:\n${logs()}`);
}
