/**
 * The TOKEN authorizer end to end in-process: real aws-jwt-verify fetching a JWKS over HTTP on
 * 127.0.0.1, real DynamoDB client against dynalite. Nothing here is mocked but the clock-free
 * logger, which records what the handler logs.
 */
import { createHmac, createSign } from 'node:crypto';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { createAuthorizerHandler, AuthorizerHandler } from '../../functions/authorizer/handler';
import { CachedLinkStore, DynamoLinkStore } from '../../functions/adapters/link-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import type { LogRecord } from '../../functions/common/log';
import { generateRsaKey, signJwt, startTestIssuer, TestIssuer } from '../support/jwt-issuer';
import { startDynalite, TestDynamo } from '../support/dynalite';

const WEB_CLIENT = 'web-client-1';
const MACHINE_CLIENT = 'api-server-1';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/fhir/Patient/pat-alice';
const OTHER_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/POST/fhir/Observation';

let issuer: TestIssuer;
let dynamo: TestDynamo;
let logs: LogRecord[];
let authorize: AuthorizerHandler;

const event = (authorizationToken: string | undefined, methodArn = ARN): APIGatewayTokenAuthorizerEvent =>
  ({ type: 'TOKEN', methodArn, authorizationToken }) as APIGatewayTokenAuthorizerEvent;

const userToken = (sub: string, extra: Record<string, unknown> = {}) =>
  issuer.token({ sub, username: sub, client_id: WEB_CLIENT, scope: 'aws.cognito.signin.user.admin', ...extra });

const machineToken = (scope: string, clientId = MACHINE_CLIENT) => issuer.token({ sub: clientId, client_id: clientId, scope });

function build(linkTtlMs = 0, unknownKidWaitSeconds = 1): AuthorizerHandler {
  const verifier = createLoopbackVerifier({
    issuers: [{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
    clientIds: [WEB_CLIENT, MACHINE_CLIENT],
    unknownKidWaitSeconds,
  });
  return createAuthorizerHandler({
    verifier,
    links: new CachedLinkStore(new DynamoLinkStore(dynamo.client, dynamo.tableName), linkTtlMs),
    clients: { userClientIds: [WEB_CLIENT], machineClientIds: [MACHINE_CLIENT] },
    settings: DEFAULT_SETTINGS,
    log: (r) => { logs.push(r); if (process.env.DEBUG_LOGS) console.log(r); },
  });
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  dynamo = await startDynalite();
  await seedLinks();
});

async function seedLinks(): Promise<void> {
  await dynamo.putLink({ sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] });
  await dynamo.putLink({ sub: 'u-dana', role: 'guardian', fhirUser: 'RelatedPerson/rp-dana', patients: ['pat-carol'] });
  await dynamo.putLink({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob'] });
}
afterAll(async () => {
  await issuer.close();
  await dynamo.close();
});
beforeEach(() => {
  logs = [];
  authorize = build();
});

const allowed = (r: APIGatewayAuthorizerResult) => r.policyDocument.Statement.map((s) => (s as { Effect: string }).Effect);

describe('accepted tokens', () => {
  test('patient token → Allow with own compartment and the role default scopes', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-alice')}`));
    expect(allowed(r)).toEqual(['Allow']);
    expect(r.context).toMatchObject({ kind: 'patient', sub: 'u-alice', clientId: WEB_CLIENT, fhirUser: 'Patient/pat-alice', patients: 'pat-alice', scopes: 'patient/*.rs' });
  });

  test('practitioner token → Allow with the panel', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-doc')}`));
    expect(allowed(r)).toEqual(['Allow']);
    expect(r.context).toMatchObject({ kind: 'practitioner', patients: 'pat-bob', fhirUser: 'Practitioner/prac-1' });
    expect(String(r.context!.scopes).split(' ')).toContain('user/*.rs');
  });

  test('guardian token → Allow for the linked child only', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-dana')}`));
    expect(r.context).toMatchObject({ kind: 'guardian', patients: 'pat-carol' });
  });

  test('machine token (client_credentials shape) → system principal with its own system/ scopes', async () => {
    const r = await authorize(event(`Bearer ${machineToken('system/*.rs')}`));
    expect(allowed(r)).toEqual(['Allow']);
    expect(r.context).toMatchObject({ kind: 'system', sub: MACHINE_CLIENT, clientId: MACHINE_CLIENT, patients: '', scopes: 'system/*.rs' });
  });

  test('a user token with FHIR scopes is narrowed to token ∩ role ceiling, never widened', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-alice', { scope: 'openid patient/Observation.rs user/*.cruds' })}`));
    // user/*.cruds is outside the patient ceiling (patient/*.cruds) and disappears.
    expect(r.context!.scopes).toBe('patient/Observation.rs');
  });

  test('same token with two different method ARNs yields the identical policy (cache-safe)', async () => {
    const token = userToken('u-alice');
    const a = await authorize(event(`Bearer ${token}`, ARN));
    const b = await authorize(event(`Bearer ${token}`, OTHER_ARN));
    expect(b).toEqual(a);
    expect(a.policyDocument.Statement[0]).toMatchObject({ Resource: ['arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/fhir', 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/fhir/*'] });
  });
});

describe('rejected tokens → 401 (Unauthorized), each logged with its reason', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => string | undefined, string][] = [
    ['missing header', () => undefined, 'ERR_TOKEN_MISSING'],
    ['not Bearer', () => `Basic ${Buffer.from('a:b').toString('base64')}`, 'ERR_TOKEN_MALFORMED'],
    ['malformed JWT', () => 'Bearer not.a.jwt', 'ERR_TOKEN_MALFORMED'],
    ['alg none, empty signature', () => `Bearer ${signJwt({ alg: 'none', kid: issuer.keys[0]!.kid }, { iss: issuer.issuer, sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT, token_use: 'access', exp: now() + 600 })}`, 'ERR_TOKEN_MALFORMED'],
    ['alg none, with a valid RS256 signature', () => `Bearer ${issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT }, { header: { alg: 'none' } })}`, 'ERR_TOKEN_INVALID'],
    ['HS256 signed with the public key', () => {
      const key = issuer.keys[0]!;
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: key.kid })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ iss: issuer.issuer, sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT, token_use: 'access', exp: now() + 600 })).toString('base64url');
      const pem = key.publicKey.export({ type: 'spki', format: 'pem' });
      const sig = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
      return `Bearer ${header}.${payload}.${sig}`;
    }, 'ERR_TOKEN_INVALID'],
    ['RS512 signature by the right key, against its RS256 JWK (header alg must match the JWK alg)', () => {
      const key = issuer.keys[0]!;
      const input = `${Buffer.from(JSON.stringify({ alg: 'RS512', kid: key.kid })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer.issuer, sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT, token_use: 'access', exp: now() + 600 })).toString('base64url')}`;
      return `Bearer ${input}.${createSign('RSA-SHA512').update(input).sign(key.privateKey).toString('base64url')}`;
    }, 'ERR_TOKEN_INVALID'],
    ['signed by a key not in the JWKS (unknown kid)', () => `Bearer ${issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT }, { key: generateRsaKey('stranger') })}`, 'ERR_TOKEN_INVALID'],
    ['known kid, wrong key (bad signature)', () => `Bearer ${issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT }, { key: { ...generateRsaKey(), kid: issuer.keys[0]!.kid } })}`, 'ERR_TOKEN_INVALID'],
    ['expired', () => `Bearer ${userToken('u-alice', { iat: now() - 7200, exp: now() - 3600 })}`, 'ERR_TOKEN_EXPIRED'],
    ['nbf in the future', () => `Bearer ${userToken('u-alice', { nbf: now() + 3600 })}`, 'ERR_TOKEN_INVALID'],
    ['wrong iss', () => `Bearer ${userToken('u-alice', { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil' })}`, 'ERR_TOKEN_UNTRUSTED_ISSUER'],
    ['ID token instead of access token', () => `Bearer ${userToken('u-alice', { token_use: 'id', aud: WEB_CLIENT })}`, 'ERR_TOKEN_INVALID'],
    ['unknown client_id', () => `Bearer ${userToken('u-alice', { client_id: 'someone-else' })}`, 'ERR_TOKEN_INVALID'],
    ['user token from the machine client', () => `Bearer ${userToken('u-alice', { client_id: MACHINE_CLIENT })}`, 'ERR_TOKEN_CLAIM_INVALID'],
    ['mixed system + patient scopes', () => `Bearer ${machineToken('system/*.rs patient/*.rs')}`, 'ERR_SCOPE_INVALID'],
    ['malformed SMART scope', () => `Bearer ${machineToken('system/Observation.sr')}`, 'ERR_SCOPE_INVALID'],
    ['user token carrying system/ scopes', () => `Bearer ${userToken('u-alice', { scope: 'system/*.rs' })}`, 'ERR_SCOPE_INVALID'],
    ['act claim from a Cognito issuer', () => `Bearer ${userToken('u-alice', { act: { sub: MACHINE_CLIENT } })}`, 'ERR_TOKEN_CLAIM_INVALID'],
    ['1 MB JWT', () => `Bearer ${'a'.repeat(1024 * 1024)}`, 'ERR_TOKEN_MALFORMED'],
    ['no exp claim (would never expire)', () => `Bearer ${userToken('u-alice', { exp: undefined })}`, 'ERR_TOKEN_CLAIM_INVALID'],
  ];

  test.each(cases)('%s', async (_name, header, code) => {
    const h = header();
    await expect(authorize(event(h))).rejects.toThrow(/^Unauthorized$/);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ event: 'authorizer.deny', code });
    expect(typeof logs[0]!.reason).toBe('string');
    // The raw token never reaches the log.
    const token = h?.replace(/^\w+ /, '') ?? '';
    if (token.length > 20) expect(JSON.stringify(logs)).not.toContain(token.slice(-20));
  });
});

describe('valid tokens that may not use the API → Deny (403)', () => {
  test('user with no link record', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-nobody')}`));
    expect(allowed(r)).toEqual(['Deny']);
    expect(r.context).toMatchObject({ code: 'ERR_NO_LINK' });
    expect(logs[0]).toMatchObject({ code: 'ERR_NO_LINK' });
  });

  test('cognito:groups that do not confirm the link role', async () => {
    const r = await authorize(event(`Bearer ${userToken('u-alice', { 'cognito:groups': ['practitioner'] })}`));
    expect(allowed(r)).toEqual(['Deny']);
    expect(r.context).toMatchObject({ code: 'ERR_ROLE_MISMATCH' });
    expect(r.context!.reason).not.toMatch(/["\\]/); // pasted into a JSON gateway response by API Gateway
  });

  test('machine token with no system/ scope', async () => {
    const r = await authorize(event(`Bearer ${machineToken('fhirgate/delegate')}`));
    expect(allowed(r)).toEqual(['Deny']);
    expect(r.context).toMatchObject({ code: 'ERR_SCOPE_INSUFFICIENT' });
  });
});

describe('JWKS caching and key rotation', () => {
  test('keys are fetched once and reused', async () => {
    const before = issuer.fetches;
    await authorize(event(`Bearer ${userToken('u-alice')}`));
    await authorize(event(`Bearer ${userToken('u-alice')}`));
    await authorize(event(`Bearer ${userToken('u-doc')}`));
    expect(issuer.fetches - before).toBeLessThanOrEqual(1);
  });

  test('a rotated-in key is picked up by refetching; unknown kids are rate limited', async () => {
    await authorize(event(`Bearer ${userToken('u-alice')}`)); // warm the cache with the old JWKS
    const rotated = generateRsaKey('rotated-key');
    issuer.keys = [...issuer.keys, rotated];
    const before = issuer.fetches;
    const token = issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT }, { key: rotated });
    expect(allowed(await authorize(event(`Bearer ${token}`)))).toEqual(['Allow']);
    expect(issuer.fetches - before).toBe(1);
    // A spray of unknown kids right after does not turn into a spray of JWKS fetches.
    for (const kid of ['x1', 'x2', 'x3']) {
      const t = issuer.token({ sub: 'u-alice', username: 'u-alice', client_id: WEB_CLIENT }, { key: generateRsaKey(kid) });
      await expect(authorize(event(`Bearer ${t}`))).rejects.toThrow('Unauthorized');
    }
    expect(issuer.fetches - before).toBeLessThanOrEqual(2);
  });
});

describe('link store outage fails closed', () => {
  test('DynamoDB stopped mid-run → request fails (never allowed); recovers when it returns', async () => {
    const token = userToken('u-alice');
    expect(allowed(await authorize(event(`Bearer ${token}`)))).toEqual(['Allow']);
    await dynamo.stop();
    try {
      await expect(authorize(event(`Bearer ${token}`))).rejects.toThrow(/link lookup failed/);
      expect(logs.at(-1)).toMatchObject({ level: 'error', code: 'ERR_DEPENDENCY_FAILED' });
    } finally {
      await dynamo.restart();
    }
    await seedLinks();
    expect(allowed(await authorize(event(`Bearer ${token}`)))).toEqual(['Allow']);
  });

  test('a link change is seen once the cache entry expires (TTL 0 here)', async () => {
    const token = userToken('u-doc');
    expect((await authorize(event(`Bearer ${token}`))).context).toMatchObject({ patients: 'pat-bob' });
    await dynamo.putLink({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob', 'pat-alice'] });
    try {
      expect((await authorize(event(`Bearer ${token}`))).context).toMatchObject({ patients: 'pat-bob pat-alice' });
    } finally {
      await dynamo.putLink({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob'] });
    }
  });
});
