/**
 * AWS Signature Version 4 for the FHIR backend (AWS HealthLake answers only signed requests).
 *
 * The signer signs exactly the request the backend client is about to send: method, host (from
 * the URL, as the client will send it), path, query, every header passed in (the client passes
 * only its allow-list) and the SHA-256 of the body. It returns the full header set to send, with
 * `authorization`, `x-amz-date`, `x-amz-content-sha256` and, for temporary credentials,
 * `x-amz-security-token` added; `host` is left out because the HTTP client derives it from the URL.
 *
 * The algorithm is the one @smithy/signature-v4 implements (the SDK's signer, `uriEscapePath` and
 * `applyChecksum` on), on node:crypto: canonical request, string to sign, signing key, in the
 * order and encodings of https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html.
 * test/fhir-proxy/sigv4.test.ts holds it to AWS's documented examples and to @smithy/signature-v4
 * over random requests. It replaced the SDK signer and the default credential provider chain,
 * which were a third of the proxy's cold start (bench: `npm run bench -- --only cold --profile`).
 */
import { createHash, createHmac } from 'node:crypto';

/** Adds authentication headers to an outgoing backend request. */
export interface RequestSigner {
  /** Returns the headers to send: the given ones plus the authentication headers. */
  sign(req: { method: string; url: URL; headers: Record<string, string>; body?: string }): Promise<Record<string, string>>;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SigV4SignerOptions {
  /** Region of the HealthLake datastore, e.g. `us-east-1`. */
  readonly region: string;
  /** @default 'healthlake' */
  readonly service?: string;
  /**
   * Static credentials or a provider of them, asked on every request (a provider memoizes).
   * @default `environmentCredentials`: what Lambda gives every function (its role's temporary
   * credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Elsewhere (the
   * CLI on a laptop) pass the SDK's provider chain.
   */
  readonly credentials?: AwsCredentials | (() => AwsCredentials | Promise<AwsCredentials>);
  /** Milliseconds since the epoch, the signing time. @default Date.now */
  readonly now?: () => number;
}

/** The credentials in the environment, as Lambda sets them for the function's role; throws when absent. */
export function environmentCredentials(env: Readonly<Record<string, string | undefined>> = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
  const sessionToken = env.AWS_SESSION_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/** SigV4 signer for AWS HealthLake (service 'healthlake') or another service, e.g. S3. */
export function createSigV4Signer(options: SigV4SignerOptions): RequestSigner {
  if (typeof options.region !== 'string' || !/^[a-z0-9-]+$/.test(options.region)) {
    throw new TypeError('createSigV4Signer: region must be an AWS region name');
  }
  const { region } = options;
  const service = options.service ?? 'healthlake';
  const given = options.credentials;
  const credentialsOf: () => AwsCredentials | Promise<AwsCredentials> = typeof given === 'function' ? given : () => given ?? environmentCredentials();
  const now = options.now ?? Date.now;

  return {
    async sign({ method, url, headers, body }) {
      const credentials = await credentialsOf();
      if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
        throw new TypeError('SigV4: credentials must have an accessKeyId and a secretAccessKey');
      }
      const toSign: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        const key = name.toLowerCase();
        // The signer writes these itself; a caller's value would be signed over or sent unsigned.
        if (key !== 'host' && !GENERATED_HEADERS.has(key)) toSign[key] = value;
      }
      const date = amzDate(now());
      toSign['x-amz-date'] = date;
      if (credentials.sessionToken) toSign['x-amz-security-token'] = credentials.sessionToken;
      toSign['x-amz-content-sha256'] = sha256Hex(body ?? '');
      const authorization = sigV4Authorization(
        // fetch and node:http send `Host: <url.host>` (the port only when it is not the scheme's default).
        { method, path: url.pathname, query: url.searchParams, headers: { ...toSign, host: url.host }, payloadHash: toSign['x-amz-content-sha256'] },
        credentials,
        { date, region, service },
      );
      return { ...toSign, authorization };
    },
  };
}

/** What SigV4 covers of a request: `path` as sent (percent-encoded), headers by lower-case name. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body. */
  readonly payloadHash: string;
}

/**
 * The `authorization` header value for a request whose headers already hold everything signed
 * (`host`, `x-amz-date`, …): canonical request → string to sign → signature.
 * `scope.date` is the `x-amz-date` value (`20150830T123600Z`).
 */
export function sigV4Authorization(req: SignedRequest, credentials: AwsCredentials, scope: { date: string; region: string; service: string }): string {
  const signed = canonicalHeaders(req.headers);
  const names = Object.keys(signed).sort();
  const canonicalRequest = [
    req.method,
    canonicalPath(req.path),
    canonicalQuery(req.query),
    ...names.map((name) => `${name}:${signed[name]}`),
    '',
    names.join(';'),
    req.payloadHash,
  ].join('\n');
  const day = scope.date.slice(0, 8);
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${scope.date}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', signingKey(credentials, day, scope.region, scope.service)).update(stringToSign, 'utf8').digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

/** Headers the signer sets, never taken from the caller. */
const GENERATED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'date', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token']);

/** Headers SigV4 clients never sign (hop-by-hop, or changed on the way), as the SDK's signer. */
const UNSIGNABLE_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

/** Lower-case names; values with line breaks and runs of blanks folded to one space, trimmed. */
function canonicalHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || UNSIGNABLE_HEADERS.has(key) || key.startsWith('proxy-') || key.startsWith('sec-')) continue;
    out[key] = value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
  }
  return out;
}

/** RFC 3986 percent-encoding: everything but unreserved characters (SigV4 "UriEncode"). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path normalized (empty and `.` segments dropped, `..` applied), then encoded again, slashes kept. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

/** Parameters encoded, sorted by name, a name's values sorted among themselves. */
function canonicalQuery(query: URLSearchParams): string {
  const byName = new Map<string, string[]>();
  for (const [name, value] of query) {
    if (name.toLowerCase() === 'x-amz-signature') continue;
    const key = uriEncode(name);
    const pairs = byName.get(key);
    const pair = `${key}=${uriEncode(value)}`;
    if (pairs) pairs.push(pair);
    else byName.set(key, [pair]);
  }
  return [...byName.keys()]
    .sort()
    .map((key) => byName.get(key)!.sort().join('&'))
    .join('&');
}

/** `20150830T123600Z` */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** HMAC chain AWS4+secret → day → region → service → aws4_request; the last key is reused for the day. */
let lastKey: { readonly id: string; readonly key: Buffer } | undefined;

function signingKey(credentials: AwsCredentials, day: string, region: string, service: string): Buffer {
  const id = `${day}\n${region}\n${service}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}`;
  if (lastKey?.id === id) return lastKey.key;
  let key: Buffer = Buffer.from(`AWS4${credentials.secretAccessKey}`, 'utf8');
  for (const part of [day, region, service, 'aws4_request']) key = createHmac('sha256', key).update(part, 'utf8').digest();
  lastKey = { id, key };
  return key;
}
