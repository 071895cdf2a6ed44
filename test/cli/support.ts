/**
 * For the CLI tests: the real local stack (`tsx local/stack/main.ts` on free ports, as `npm start`
 * runs it) and the real CLI process (`node bin/fhirgate.cjs …`), as an operator would run them.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnLocalStack } from '../../local/stack/spawn';
import type { StackInfo } from '../../bin/cli/stack-info';

export const ROOT = join(__dirname, '../..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** FHIRGATE_DIR for the CLI (where it reads stack.json). */
  readonly dir?: string;
  /** Written to the CLI's stdin. */
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Run `node bin/fhirgate.cjs ...args` from the repo root. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/fhirgate.cjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...(options.dir ? { FHIRGATE_DIR: options.dir } : {}), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Parse the CLI's `--json` stdout, failing with the whole result when it is not JSON. */
export function json<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

export interface TestStack {
  readonly info: StackInfo;
  readonly dir: string;
  /** The stack's latest stderr (JSON request logs), for diagnosing a failure. */
  logs(): string;
  stop(): Promise<void>;
}

/** Seconds of the two caches in the CLI tests' stack: short, so a link change is seen by waiting. */
export const TEST_CACHE_TTL = { authorizer: 2, link: 1 } as const;

/** Start the local stack on free ports in a temporary FHIRGATE_DIR (local/stack/spawn.ts), with short cache TTLs. */
export async function startStack(): Promise<TestStack> {
  const stack = await spawnLocalStack({
    FHIRGATE_AUTHORIZER_CACHE_TTL_SECONDS: String(TEST_CACHE_TTL.authorizer),
    FHIRGATE_LINK_CACHE_TTL_SECONDS: String(TEST_CACHE_TTL.link),
  });
  let stopping = false;
  stack.child.on('exit', (code, signal) => {
    if (!stopping) console.error(`the local stack exited unexpectedly (${code ?? signal}):\n${stack.stdout().slice(-2000)}\n${stack.stderr().slice(-4000)}`);
  });
  return {
    info: stack.info,
    dir: stack.dir,
    logs: () => stack.stderr().slice(-20_000),
    async stop() {
      stopping = true;
      await stack.stop();
    },
  };
}

/** GET through the gateway, as a client with a bearer token would; a 5xx prints the stack's latest logs. */
export async function gatewayGet(stack: TestStack, token: string, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.info.fhirBaseUrl}/${path}`, { headers: { authorization: `Bearer ${token}` } });
  const result = { status: res.status, body: await res.json() };
  if (res.status >= 500) console.error(`GET ${path} → ${res.status}; the stack's latest logs:\n${stack.logs().slice(-4000)}`);
  return result;
}

/** Resource ids of a search Bundle, sorted. */
export const ids = (bundle: any): string[] => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();

/**
 * A stand-in for the CloudFormation API (DescribeStacks only, AWS Query protocol) so `--stack` runs
 * offline: the CLI finds it through the SDK's standard AWS_ENDPOINT_URL_CLOUDFORMATION.
 */
export async function startFakeCloudFormation(stacks: Readonly<Record<string, Readonly<Record<string, string>>>>): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const requests: string[] = [];
  const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push(body);
      const params = new URLSearchParams(body);
      const name = params.get('StackName') ?? '';
      const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
      res.setHeader('content-type', 'text/xml');
      const outputs = params.get('Action') === 'DescribeStacks' ? stacks[name] : undefined;
      if (!outputs) {
        res.statusCode = 400;
        res.end(`<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xmlEscape(name)} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
        return;
      }
      const members = Object.entries(outputs).map(([k, v]) => `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`).join('');
      res.end(
        `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks><member><StackName>${xmlEscape(name)}</StackName>` +
          `<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${xmlEscape(name)}/0f0f0f0f</StackId><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<CreationTime>2025-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
          `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

/** Environment for the AWS SDK in a `--stack` test: fake credentials, no shared config, endpoints overridden. */
export function awsEnv(endpoints: Readonly<Record<string, string>>): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: join(tmpdir(), 'fhirgate-no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'fhirgate-no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...endpoints,
  };
}
