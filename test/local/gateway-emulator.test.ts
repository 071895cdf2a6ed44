/**
 * The API Gateway emulation keeps the limits of the service it stands for
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): a client that
 * declares a body and stalls is answered and disconnected within the request deadline, an
 * integration slower than the integration timeout gets a 504 (the 10 MB payload limit has its
 * cases in faults/hostile-input.test.ts). Short deadlines are injected so nothing here waits the
 * real 29 s.
 */
import { connect, Socket } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { GatewayEmulator } from '../../local/gateway/gateway';
import { HttpGateway, startHttpGateway } from '../../local/gateway/http-server';

const REQUEST_TIMEOUT_MS = 300;
const INTEGRATION_TIMEOUT_MS = 300;

let gateway: HttpGateway;
let proxyDelayMs = 0;
let proxyCalls = 0;

beforeAll(async () => {
  gateway = await startHttpGateway(
    0,
    ({ host }) =>
      new GatewayEmulator({
        domainName: host,
        authorizer: async () => ({ principalId: 'x', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }] } }),
        proxy: async (): Promise<APIGatewayProxyResult> => {
          proxyCalls += 1;
          await new Promise((r) => setTimeout(r, proxyDelayMs));
          return { statusCode: 200, headers: { 'content-type': 'application/fhir+json' }, body: '{"resourceType":"Bundle"}' };
        },
        authorizerCacheTtlSeconds: 0,
        integrationTimeoutMs: INTEGRATION_TIMEOUT_MS,
      }),
    { requestTimeoutMs: REQUEST_TIMEOUT_MS },
  );
});
afterAll(() => gateway.close());
beforeEach(() => {
  proxyDelayMs = 0;
  proxyCalls = 0;
});

/** Write raw bytes, then collect everything the server sends until it closes the connection. */
function rawExchange(bytes: string): Promise<{ response: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(gateway.port, '127.0.0.1', () => socket.write(bytes));
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (response += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
    // Far beyond the deadline: a server that never answers fails the test instead of hanging it.
    setTimeout(() => socket.destroy(new Error('the gateway never closed the stalled connection')), 10_000).unref();
  });
}

test('a client that declares 100 bytes, sends 50 and stalls: 408 OperationOutcome, connection closed, the Lambda never called', async () => {
  const head = `POST /fhir/Observation HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer x\r\ncontent-type: application/fhir+json\r\ncontent-length: 100\r\n\r\n`;
  const { response, closedAfterMs } = await rawExchange(head + '{'.padEnd(50, ' '));
  expect(response).toMatch(/^HTTP\/1\.1 408 /);
  expect(response).toMatch(/connection: close/i);
  expect(response).toContain('"resourceType":"OperationOutcome"');
  expect(response).toContain('"code":"timeout"');
  expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
  expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2000);
  expect(proxyCalls).toBe(0);
});

test('a client that stalls inside its headers is cut off too (never a socket held open)', async () => {
  const { response } = await rawExchange('GET /fhir/Patient HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer');
  expect(response).toMatch(/^HTTP\/1\.1 408 /);
  expect(response).toContain('"resourceType":"OperationOutcome"');
});

test('an integration slower than the integration timeout: 504, as API Gateway answers', async () => {
  proxyDelayMs = INTEGRATION_TIMEOUT_MS + 500;
  const started = Date.now();
  const res = await fetch(`${gateway.url}/fhir/Patient`, { headers: { authorization: 'Bearer x' } });
  expect(res.status).toBe(504);
  const body = await res.json();
  expect(body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'timeout' }] });
  expect(JSON.stringify(body)).toContain('Endpoint request timed out');
  expect(Date.now() - started).toBeLessThan(INTEGRATION_TIMEOUT_MS + 400);
});

test('a complete request within the limits is served', async () => {
  const res = await fetch(`${gateway.url}/fhir/Observation`, { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/fhir+json' }, body: '{"resourceType":"Observation"}' });
  expect(res.status).toBe(200);
});
