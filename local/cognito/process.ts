/**
 * cognito-local as a child process: one process tree with the local stack, killable by pid.
 *
 * The child (child.cjs) binds 127.0.0.1 itself and reports the bound port over IPC; the parent
 * then polls `/health` until the HTTP app answers. Stop is SIGTERM, then SIGKILL after a grace
 * period, and resolves only once the child has exited (and been reaped by Node).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface CognitoLocalProcessOptions {
  /** Working directory of the child; cognito-local keeps `.cognito/` here. Created if missing. */
  readonly dir: string;
  /** Port to bind on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** How long to wait for the emulator to answer. @default 15000 */
  readonly readyTimeoutMs?: number;
  /** pino level of cognito-local's log (`<dir>/cognito-local.log`). @default 'info' */
  readonly logLevel?: string;
}

export interface CognitoLocalProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the AWS SDK endpoint and the IssuerDomain. */
  readonly endpoint: string;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

type ChildMessage = { type: 'ready'; port: number } | { type: 'error'; message: string };

const CHILD_SCRIPT = join(__dirname, 'child.cjs');

/** Start cognito-local on 127.0.0.1 and wait until it serves requests. */
export async function spawnCognitoLocal(options: CognitoLocalProcessOptions): Promise<CognitoLocalProcess> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`invalid port ${port}`);
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'cognito-local.log');
  const packageDir = dirname(require.resolve('cognito-local/package.json'));

  // The child's log goes straight to a file (no pipes held open by the parent); its tail is
  // quoted when startup fails.
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [CHILD_SCRIPT], {
      cwd: dir,
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: {
        ...process.env,
        FHIRGATE_COGNITO_LOCAL_DIR: packageDir,
        FHIRGATE_COGNITO_PORT: String(port),
        FHIRGATE_COGNITO_LOG_LEVEL: options.logLevel ?? 'info',
        // cognito-local depends on aws-sdk v2 (for its Lambda triggers), which prints an
        // end-of-support notice on load.
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      },
    });
  } finally {
    closeSync(logFd); // the child holds its own copy
  }
  const stop = stopper(child);
  try {
    if (child.pid === undefined) throw new Error('cognito-local could not be spawned');
    const bound = await waitForReady(child, options.readyTimeoutMs ?? 15_000, logFile);
    const endpoint = `http://127.0.0.1:${bound}`;
    await pollHealth(endpoint, child, 5_000, logFile);
    return { pid: child.pid, port: bound, endpoint, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolve with the bound port on the child's `ready` message; reject on error, exit or timeout. */
function waitForReady(child: ChildProcess, timeoutMs: number, logFile: string): Promise<number> {
  return new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => finish(new Error(`cognito-local not ready after ${timeoutMs} ms${logTail(logFile)}`)), timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready') finish(undefined, message.port);
      else finish(new Error(`cognito-local: ${message.message}${logTail(logFile)}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`cognito-local exited during startup (code ${code}, signal ${signal})${logTail(logFile)}`));
    const onError = (err: Error) => finish(err);
    function finish(err: Error | undefined, port?: number) {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', onError);
      if (err) reject(err);
      else resolvePort(port!);
    }
    child.on('message', onMessage).on('exit', onExit).on('error', onError);
  });
}

/** Poll `GET /health` (cognito-local's own route) until it answers 200. */
async function pollHealth(endpoint: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cognito-local exited${logTail(logFile)}`);
    try {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`cognito-local did not answer /health within ${timeoutMs} ms${logTail(logFile)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function stopper(child: ChildProcess): (graceMs?: number) => Promise<void> {
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });
  let stopping: Promise<void> | undefined;
  return (graceMs = 5_000) => {
    stopping ??= (async () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return; // never ran, or gone
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      if ((await Promise.race([exited, gaveUp])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
      clearTimeout(timer);
    })();
    return stopping;
  };
}

function logTail(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15);
    return lines.length > 0 && lines[0] !== '' ? `\n--- ${logFile} (tail) ---\n${lines.join('\n')}` : '';
  } catch {
    return '';
  }
}
