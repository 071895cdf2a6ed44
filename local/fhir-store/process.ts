/**
 * Start the local FHIR store (child.ts) in a child process of the stack and wait for its base
 * URL. The child inherits this process's loader flags (tsx), so it runs the TypeScript directly.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';

export interface FhirStoreProcess {
  readonly baseUrl: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  close(): Promise<void>;
}

/** Fork the store on 127.0.0.1:port (0 = a free port). */
export async function spawnFhirStore(port: number, readyTimeoutMs = 15_000): Promise<FhirStoreProcess> {
  const child = fork(join(__dirname, 'child.ts'), [], {
    execArgv: process.execArgv,
    env: { ...process.env, FHIRGATE_FHIR_STORE_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the FHIR store did not start in ${readyTimeoutMs} ms`)), readyTimeoutMs);
      child.once('message', (m: { type: string; baseUrl?: string; message?: string }) => {
        clearTimeout(timer);
        if (m.type === 'ready' && m.baseUrl) resolve(m.baseUrl);
        else reject(new Error(`the FHIR store failed to start: ${m.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the FHIR store exited during start (${code})`));
      });
    });
    return { baseUrl, pid: child.pid!, close };
  } catch (err) {
    await close();
    throw err;
  }
}
