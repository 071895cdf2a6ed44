/**
 * The Parameters and Secrets extension client against a loopback HTTP server that answers like the
 * extension: `GET /secretsmanager/get?secretId=…` with the session token header, GetSecretValue JSON.
 * Every failure is a DependencyError that names no secret, and nothing is remembered between calls.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DependencyError } from '../../functions/core/errors';
import { extensionSecret, SECRETS_TOKEN_HEADER } from '../../functions/adapters/secrets-extension';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fhirgate/broker-AbCdEf';
const SESSION_TOKEN = 'session-token-of-this-environment';
const VALUE = 'broker-client-secret-value';

interface FakeExtension {
  readonly port: number;
  readonly requests: IncomingMessage[];
  /** What the next answers are: the extension's normal answer by default. */
  answer: (req: IncomingMessage) => { status: number; body: string } | 'hang';
  close(): Promise<void>;
}

/** The extension's contract: the token header must be the session token, the secret must exist. */
const extensionAnswer = (req: IncomingMessage) => {
  const url = new URL(req.url!, 'http://x');
  if (req.headers[SECRETS_TOKEN_HEADER.toLowerCase()] !== SESSION_TOKEN) return { status: 401, body: 'not authorized' };
  if (url.pathname !== '/secretsmanager/get' || url.searchParams.get('secretId') !== SECRET_ARN) return { status: 400, body: 'no such secret' };
  return { status: 200, body: JSON.stringify({ ARN: SECRET_ARN, Name: 'fhirgate/broker', SecretString: VALUE, VersionStages: ['AWSCURRENT'] }) };
};

async function startExtension(port = 0): Promise<FakeExtension> {
  const requests: IncomingMessage[] = [];
  const fake = { requests, answer: extensionAnswer } as FakeExtension;
  const server: Server = createServer((req, res) => {
    requests.push(req);
    const a = fake.answer(req);
    if (a === 'hang') return;
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(fake, {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let ext: FakeExtension;
beforeEach(async () => {
  ext = await startExtension();
});
afterEach(() => ext.close());

const envFor = (port: number, token: string | null = SESSION_TOKEN) => ({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port), ...(token ? { AWS_SESSION_TOKEN: token } : {}) });
const at127 = (port: number) => `http://127.0.0.1:${port}`;

/** The rejection of `read()`, checked to be a DependencyError that does not carry the secret. */
async function refusal(read: () => Promise<string>): Promise<DependencyError> {
  const err = await read().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DependencyError);
  expect(String((err as Error).message)).not.toContain(VALUE);
  return err as DependencyError;
}

test('GET /secretsmanager/get?secretId=<id, encoded> with the session token header; the SecretString comes back', async () => {
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port) });
  await expect(read()).resolves.toBe(VALUE);
  const [req] = ext.requests;
  expect(req!.method).toBe('GET');
  expect(req!.url).toBe(`/secretsmanager/get?secretId=${encodeURIComponent(SECRET_ARN)}`);
  expect(req!.headers['x-aws-parameters-secrets-token']).toBe(SESSION_TOKEN);
});

test('by default: http://localhost on the port the layer sets (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)', async () => {
  const urls: string[] = [];
  const fetchSpy: typeof fetch = async (input) => {
    urls.push(String(input));
    return new Response(JSON.stringify({ SecretString: VALUE }), { status: 200 });
  };
  await extensionSecret({ secretId: 's', env: envFor(2999), fetch: fetchSpy })();
  await extensionSecret({ secretId: 's', env: { AWS_SESSION_TOKEN: SESSION_TOKEN }, fetch: fetchSpy })();
  expect(urls).toEqual(['http://localhost:2999/secretsmanager/get?secretId=s', 'http://localhost:2773/secretsmanager/get?secretId=s']);
});

test('each call asks the extension again (it caches; a rotated value is picked up without a cold start)', async () => {
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port) });
  await read();
  await read();
  expect(ext.requests).toHaveLength(2);
});

test('a wrong session token: the extension refuses (401) → DependencyError', async () => {
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port, 'someone-elses') });
  const err = await refusal(read);
  expect(err.code).toBe('ERR_DEPENDENCY_FAILED');
  expect(err.message).toMatch(/HTTP 401/); // the log line says why
});

test('an error status is a refusal whatever its body says (no value is taken from an error answer)', async () => {
  ext.answer = () => ({ status: 403, body: JSON.stringify({ SecretString: 'from-an-error-answer' }) });
  const err = await refusal(extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port) }));
  expect(err.message).toMatch(/HTTP 403/);
});

test('no AWS_SESSION_TOKEN: refused before any request', async () => {
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port, null) });
  await refusal(read);
  expect(ext.requests).toHaveLength(0);
});

test.each([
  ['an unknown secret or a missing permission (400)', () => ({ status: 400, body: 'AccessDeniedException' })],
  ['Secrets Manager failing behind the extension (500)', () => ({ status: 500, body: 'error' })],
  ['a 200 without SecretString (a binary secret)', () => ({ status: 200, body: JSON.stringify({ SecretBinary: 'AAAA' }) })],
  ['a 200 that is not JSON', () => ({ status: 200, body: 'not json' })],
])('%s → DependencyError', async (_name, answer) => {
  ext.answer = answer;
  await refusal(extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port) }));
});

test('an extension that does not answer in time → ERR_DEPENDENCY_TIMEOUT', async () => {
  ext.answer = () => 'hang';
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(ext.port), env: envFor(ext.port), timeoutMs: 100 });
  expect((await refusal(read)).code).toBe('ERR_DEPENDENCY_TIMEOUT');
});

test('the extension not listening yet → DependencyError; the next call, once it listens, succeeds', async () => {
  const { port } = ext;
  await ext.close();
  const read = extensionSecret({ secretId: SECRET_ARN, endpoint: at127(port), env: envFor(port) });
  await refusal(read);
  ext = await startExtension(port);
  await expect(read()).resolves.toBe(VALUE);
});
