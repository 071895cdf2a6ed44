/**
 * CORS through the gateway emulation and the proxy: preflights need no token, allowed origins
 * get exactly their own origin back (never `*`, no credentials), FHIR headers a browser app needs
 * are exposed, and a disallowed origin gets no CORS headers at all — on successes and on the
 * gateway's own 401s alike.
 */
import { InProcessStack, startInProcessStack } from '../support/in-process-stack';

const PORTAL = 'http://127.0.0.1:5173';
let stack: InProcessStack;

beforeAll(async () => {
  stack = await startInProcessStack({ cors: { allowedOrigins: [PORTAL, 'https://portal.example.com'] } });
});
afterAll(() => stack.close());

test('OPTIONS preflight from an allowed origin, without a token → 204 with the CORS answer', async () => {
  const r = await stack.call(undefined, 'OPTIONS', 'Observation', { headers: { origin: PORTAL, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
  expect(r.status).toBe(204);
  expect(r.headers['access-control-allow-origin']).toBe(PORTAL);
  expect(r.headers['access-control-allow-headers']).toContain('authorization');
  expect(r.headers['access-control-allow-methods']).toContain('GET');
  expect(r.headers['access-control-allow-credentials']).toBeUndefined();
});

test('OPTIONS preflight from a disallowed origin → no CORS headers', async () => {
  const r = await stack.call(undefined, 'OPTIONS', 'Observation', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
  expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
});

test('GET with an allowed origin → its origin echoed (never *), Location/ETag/Content-Location exposed', async () => {
  const r = await stack.call(stack.userToken('alice'), 'GET', 'Patient/pat-alice', { headers: { origin: PORTAL } });
  expect(r.status).toBe(200);
  expect(r.headers['access-control-allow-origin']).toBe(PORTAL);
  expect(r.headers['access-control-expose-headers'].split(', ')).toEqual(expect.arrayContaining(['location', 'etag', 'content-location']));
  expect(r.headers.vary).toContain('Origin');
});

test('GET from a disallowed origin → the response carries no CORS headers (the browser withholds it)', async () => {
  const r = await stack.call(stack.userToken('alice'), 'GET', 'Patient/pat-alice', { headers: { origin: 'https://evil.example' } });
  expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
});

test('the gateway\'s own 401 carries CORS headers for an allowed origin, so the app can read the OperationOutcome', async () => {
  const r = await stack.call(undefined, 'GET', 'Patient/pat-alice', { headers: { origin: PORTAL } });
  expect(r.status).toBe(401);
  expect(r.headers['access-control-allow-origin']).toBe(PORTAL);
  expect(r.body.resourceType).toBe('OperationOutcome');
});
