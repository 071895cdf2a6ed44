/**
 * functions/fhir-proxy/sigv4.ts is SigV4 on node:crypto. Two references hold it:
 * - AWS's documented examples (the aws-sig-v4-test-suite `get-vanilla` case and the IAM
 *   `ListUsers` request of the "create a signed request" guide), signature for signature;
 * - @smithy/signature-v4, the SDK's own signer (`uriEscapePath` and `applyChecksum` on, as the
 *   proxy used it before), over random requests: methods, paths with encoded and odd segments,
 *   repeated and unsorted query parameters, header names in any case with folded values, bodies in
 *   any Unicode, with and without a session token. Both must produce the same headers.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { createSigV4Signer, environmentCredentials, sigV4Authorization } from '../../functions/fhir-proxy/sigv4';

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe("AWS's documented examples", () => {
  test('get-vanilla: GET / on example.amazonaws.com, service "service", 20150830T123600Z', () => {
    const headers = { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' };
    expect(sigV4Authorization({ method: 'GET', path: '/', query: new URLSearchParams(), headers, payloadHash: EMPTY_SHA256 }, EXAMPLE, { date: '20150830T123600Z', region: 'us-east-1', service: 'service' })).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  test('IAM ListUsers: GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08 with a form content type', () => {
    const headers = { Host: 'iam.amazonaws.com', 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'X-Amz-Date': '20150830T123600Z' };
    const query = new URLSearchParams('Version=2010-05-08&Action=ListUsers'); // any order: the canonical query sorts
    expect(sigV4Authorization({ method: 'GET', path: '/', query, headers, payloadHash: EMPTY_SHA256 }, EXAMPLE, { date: '20150830T123600Z', region: 'us-east-1', service: 'iam' })).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });
});

/** What @smithy/signature-v4 sends for the same request, minus `host` (the HTTP client adds it). */
async function smithySigned(req: { method: string; url: URL; headers: Record<string, string>; body?: string }, credentials: typeof EXAMPLE & { sessionToken?: string }, date: Date, service = 'healthlake'): Promise<Record<string, string>> {
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of req.url.searchParams) {
    const seen = Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = value;
  headers.host = req.url.host;
  const signer = new SignatureV4({ service, region: 'eu-west-1', credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: true });
  const out = await signer.sign(
    { method: req.method, protocol: req.url.protocol, hostname: req.url.hostname, ...(req.url.port ? { port: Number(req.url.port) } : {}), path: req.url.pathname, query, headers, body: req.body },
    { signingDate: date },
  );
  const sent: Record<string, string> = { ...out.headers };
  delete sent.host;
  return sent;
}

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9\-._$]{1,12}$/),
  fc.constantFrom('Patient', '_history', '$everything', '.', '..', 'a b', 'é', '%2F', '%25', "it's", '(x)*!', '~tilde'),
);
const queryText = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('a+b', 'Patient/1', 'http://loinc.org|8867-4', 'ü', '', '=', '&x', '__proto__', 'x-amz-signature'));
const headerName = fc.constantFrom('Accept', 'content-type', 'If-Match', 'if-none-exist', 'Prefer', 'if-modified-since', 'x-custom', 'User-Agent', 'X-Amzn-Trace-Id', 'sec-fetch-mode');
const headerValue = fc.oneof(fc.stringMatching(/^[ -~]{0,20}$/), fc.constantFrom('  spaced   out  ', 'W/"1"', 'a\tb', 'application/fhir+json; charset=utf-8'));
const requests = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
  host: fc.constantFrom('healthlake.eu-west-1.amazonaws.com', '127.0.0.1:4567', 'example.com:443'),
  path: fc.array(segment, { maxLength: 5 }).chain((segments) => fc.constantFrom(`/${segments.join('/')}`, `/${segments.join('/')}/`, `/r4//${segments.join('/')}`)),
  // Names: not `__proto__`, which @smithy/signature-v4 leaves out of its canonical query (it
  // builds it in a plain object); see the case below.
  query: fc.array(fc.tuple(fc.oneof(fc.constantFrom('_count', 'subject', 'code', 'B', 'a', 'a-b', '_include'), queryText.filter((q) => q !== '__proto__')), queryText), { maxLength: 6 }),
  headers: fc.dictionary(headerName, headerValue, { maxKeys: 5 }),
  body: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
  sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{1,40}$/), { nil: undefined }),
  time: fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2035, 0, 1) }),
});

test('the same headers as @smithy/signature-v4 for random requests', async () => {
  await fc.assert(
    fc.asyncProperty(requests, async (r) => {
      const url = new URL(`https://${r.host}${r.path}`);
      for (const [name, value] of r.query) url.searchParams.append(name, value);
      const credentials = { ...EXAMPLE, ...(r.sessionToken ? { sessionToken: r.sessionToken } : {}) };
      const req = { method: r.method, url, headers: r.headers, body: r.body };
      const ours = await createSigV4Signer({ region: 'eu-west-1', credentials, now: () => r.time }).sign(req);
      expect(ours).toEqual(await smithySigned(req, credentials, new Date(r.time)));
    }),
    { numRuns: 500 },
  );
});

test('a query parameter named __proto__ is signed like any other (AWS signs what arrives)', async () => {
  const headers = { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' };
  const sign = (query: string) => sigV4Authorization({ method: 'GET', path: '/', query: new URLSearchParams(query), headers, payloadHash: EMPTY_SHA256 }, EXAMPLE, { date: '20150830T123600Z', region: 'us-east-1', service: 'service' });
  expect(sign('__proto__=x')).not.toBe(sign(''));
  expect(sign('__proto__=x')).not.toBe(sign('__proto__=y'));
});

test('another service (S3 export files) is the same algorithm under its own scope', async () => {
  const url = new URL('https://bucket.s3.eu-west-1.amazonaws.com/exports/job-1/Observation-1.ndjson');
  const req = { method: 'GET', url, headers: { accept: 'application/fhir+ndjson' } };
  const ours = await createSigV4Signer({ region: 'eu-west-1', service: 's3', credentials: EXAMPLE, now: () => Date.UTC(2026, 0, 2) }).sign(req);
  expect(ours.authorization).toContain('/eu-west-1/s3/aws4_request');
  expect(ours).toEqual(await smithySigned(req, EXAMPLE, new Date(Date.UTC(2026, 0, 2)), 's3'));
});

describe('credentials', () => {
  test('the environment holds them in Lambda (the role session included)', () => {
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' })).toEqual({ accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' });
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's' })).toEqual({ accessKeyId: 'AKID', secretAccessKey: 's' });
  });

  test.each([{}, { AWS_ACCESS_KEY_ID: 'AKID' }, { AWS_SECRET_ACCESS_KEY: 's' }, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 's' }])('none in %j → signing throws (the backend client answers 502)', (env) => {
    expect(() => environmentCredentials(env)).toThrow(/no AWS credentials/);
  });

  test('a caller cannot set what the signer writes (authorization, date, payload hash, token)', async () => {
    const url = new URL('https://healthlake.eu-west-1.amazonaws.com/datastore/x/r4/Patient');
    const headers = { Authorization: 'Bearer caller', 'X-Amz-Date': '20000101T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-security-token': 'forged', date: 'x' };
    const out = await createSigV4Signer({ region: 'eu-west-1', credentials: EXAMPLE, now: () => Date.UTC(2026, 0, 2) }).sign({ method: 'POST', url, headers, body: '{}' });
    expect(out).toEqual({
      'x-amz-date': '20260102T000000Z',
      'x-amz-content-sha256': '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260102\/eu-west-1\/healthlake\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/),
    });
  });
});
