/**
 * `npm start`: run the local stack until Ctrl-C/SIGTERM, write `.local/stack.json` when ready,
 * and print how to use it. Ports: FHIRGATE_PORT (gateway), FHIRGATE_COGNITO_PORT,
 * FHIRGATE_TOKEN_PORT, FHIRGATE_DYNAMODB_PORT, FHIRGATE_FHIR_PORT, FHIRGATE_PORTAL_PORT; 0 picks a free port.
 * FHIRGATE_CORS_ORIGINS (comma-separated) adds origins allowed by CORS besides the portal's own.
 * FHIRGATE_DIR moves the state directory (default `.local`). FHIRGATE_AUTHORIZER_CACHE_TTL_SECONDS
 * (default 300, like API Gateway) and FHIRGATE_LINK_CACHE_TTL_SECONDS (default 60) set the caches;
 * FHIRGATE_EXCHANGE_TOKEN_LIFETIME_SECONDS (default 300) the lifetime of on-behalf-of tokens;
 * FHIRGATE_SETTINGS_FILE a roles-and-scopes file (the CDK's `settingsFile`). All of them form the
 * CDK's typed settings object (lib/settings.ts) and are checked by the same `resolveSettings`.
 */
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FhirgateSettings } from '../../lib/settings';
import { DEFAULT_PORTS, startStack } from './stack';
import type { StackInfo } from '../../bin/cli/stack-info';

const PORT_ENV: Record<keyof typeof DEFAULT_PORTS, string> = {
  gateway: 'FHIRGATE_PORT',
  cognito: 'FHIRGATE_COGNITO_PORT',
  token: 'FHIRGATE_TOKEN_PORT',
  dynamo: 'FHIRGATE_DYNAMODB_PORT',
  fhir: 'FHIRGATE_FHIR_PORT',
  portal: 'FHIRGATE_PORTAL_PORT',
};

function portsFromEnv(): Partial<Record<keyof typeof DEFAULT_PORTS, number>> {
  const ports: Partial<Record<keyof typeof DEFAULT_PORTS, number>> = {};
  for (const [key, name] of Object.entries(PORT_ENV) as [keyof typeof DEFAULT_PORTS, string][]) {
    const value = process.env[name];
    if (value === undefined || value === '') continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`fhirgate: ${name} must be a port number (0 for a free port), got "${value}"\n`);
      process.exit(2);
    }
    ports[key] = port;
  }
  return ports;
}

/**
 * Request and audit logs go to stderr, one JSON line each. Writes to a pipe are synchronous in
 * Node on Linux, so lines are batched per event-loop turn: one write instead of one per request.
 */
const pendingLines: string[] = [];
function batchedLog(record: Readonly<Record<string, unknown>>): void {
  if (pendingLines.push(JSON.stringify(record)) === 1) setImmediate(flushLog);
}
function flushLog(): void {
  if (pendingLines.length === 0) return;
  process.stderr.write(`${pendingLines.join('\n')}\n`);
  pendingLines.length = 0;
}

function secondsFromEnv(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
    process.stderr.write(`fhirgate: ${name} must be whole seconds from 0 to 3600, got "${value}"\n`);
    process.exit(2);
  }
  return seconds;
}

/** FHIRGATE_CORS_ORIGINS: comma-separated; checked by `resolveSettings` exactly as the CDK stack checks them. */
function originsFromEnv(): string[] {
  return (process.env.FHIRGATE_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
}

/** FHIRGATE_SETTINGS_FILE: the same roles-and-scopes file as the CDK's `-c settingsFile=…` (docs/settings.schema.json). */
function authzFromFile(): unknown {
  const path = process.env.FHIRGATE_SETTINGS_FILE;
  return path ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

function summary(info: StackInfo, startedMs: number): string {
  const lines = [
    '',
    `fhirgate local stack ready in ${(startedMs / 1000).toFixed(1)} s`,
    '',
    `  FHIR API (gateway)   ${info.fhirBaseUrl}`,
    `  SMART configuration  ${info.fhirBaseUrl}/.well-known/smart-configuration`,
    `  FHIR store (direct)  ${info.backendFhirBaseUrl}`,
    `  Cognito endpoint     ${info.cognito.endpoint}  (user pool ${info.cognito.userPoolId}, web client ${info.cognito.webClientId})`,
    `  Machine token URL    ${info.cognito.tokenUrl}`,
    `  Token exchange       ${info.tokenExchangeUrl}  (RFC 8693, on behalf of a user)`,
    `  Patient portal       ${info.portalUrl}  (sign in as a user below)`,
    `  CORS origins         ${info.corsAllowedOrigins.join(', ')}`,
    '',
    '  Users (local only):',
    ...info.users.map((u) => `    ${u.username.padEnd(14)} ${u.password}  ${u.role.padEnd(12)} ${u.fhirUser.padEnd(30)} patients: ${u.patients.join(', ')}`),
    '  Machine clients (local only):',
    ...info.machineClients.map((c) => `    ${c.name.padEnd(14)} id ${c.clientId}  secret ${c.clientSecret}  scopes: ${c.scopes.join(' ')}`),
    '',
    '  Details: .local/stack.json   Stop: Ctrl-C',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = resolve(process.env.FHIRGATE_DIR ?? '.local');
  const stackFile = join(dir, 'stack.json');
  await rm(stackFile, { force: true });
  // Request logs go to stderr so stdout stays the readable summary.
  const stack = await startStack({
    dir,
    ports: portsFromEnv(),
    settings: {
      // Validated by resolveSettings (lib/settings.ts), the very check the CDK stack runs.
      authz: authzFromFile() as FhirgateSettings['authz'],
      authorizerCacheTtlSeconds: secondsFromEnv('FHIRGATE_AUTHORIZER_CACHE_TTL_SECONDS'),
      linkCacheTtlSeconds: secondsFromEnv('FHIRGATE_LINK_CACHE_TTL_SECONDS'),
      exchangedTokenLifetimeSeconds: secondsFromEnv('FHIRGATE_EXCHANGE_TOKEN_LIFETIME_SECONDS'),
      corsAllowedOrigins: originsFromEnv(),
    },
    log: batchedLog,
  });
  await writeFile(stackFile, `${JSON.stringify(stack.info, null, 2)}\n`);
  process.stdout.write(summary(stack.info, Date.now() - started));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\nfhirgate: ${signal}, stopping…\n`);
    await stack.close();
    flushLog();
    await rm(stackFile, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  watchLaunchers(() => void stop('launcher exited'));
}

/**
 * `npm start` runs npm → tsx → this process. A SIGTERM sent to npm alone is not passed on, which
 * would leave the stack running with nobody to stop it; so the stack also stops when the process
 * that launched it (or its launcher) goes away. Linux /proc only; elsewhere signals suffice.
 */
function watchLaunchers(onGone: () => void): void {
  const launchers = [process.ppid, parentOf(process.ppid)].filter((pid): pid is number => pid !== undefined && pid > 1);
  const timer = setInterval(() => {
    for (const pid of launchers) {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(timer);
        onGone();
        return;
      }
    }
  }, 500);
  timer.unref();
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fhirgate: the local stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
