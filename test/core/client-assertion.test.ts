/**
 * SMART Backend Services client authentication rules, over values only: the token request form,
 * the assertion's header and claims (clock passed in), the registration, the `system/` grant, and
 * on the authorizer side the shape of a `system/` token from fhirgate's own issuer. Signatures,
 * DynamoDB and HTTP are the token service's (test/token-exchange/client-credentials.test.ts).
 */
import fc from 'fast-check';
import {
  BackendClient,
  BackendPolicy,
  checkAssertionClaims,
  checkClientAllowed,
  checkRegistration,
  CLIENT_ASSERTION_TYPE_JWT_BEARER,
  ClientCredentialsRequest,
  decideBackendGrant,
  MAX_ASSERTION_LENGTH,
  parseBackendClient,
  parseClientCredentialsRequest,
  readAssertion,
  UnverifiedAssertion,
} from '../../functions/core/client-assertion';
import { TokenError } from '../../functions/core/errors';
import { OAuthError } from '../../functions/core/oauth-error';
import { classifyBackendClaims, classifyDelegatedClaims, machinePrincipal } from '../../functions/core/principal';
import { grantFor } from '../../functions/core/scope-check';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const NOW = 1_800_000_000;
const TOKEN_URL = 'https://api.example.test/prod/auth/token';
const ISSUER = 'https://api.example.test/prod/auth';
const FHIR = 'https://api.example.test/prod/fhir';
const POLICY: BackendPolicy = { issuer: 'https://api.example.test/prod/auth', audience: FHIR, lifetimeSeconds: 300 };
const CLIENT: BackendClient = { clientId: 'sync-job', status: 'active', keys: { kind: 'jwks_uri', uri: 'https://sync.example/jwks.json' }, scopes: ['system/Observation.rs', 'system/Patient.r'] };
const CLIENTS = { userClientIds: ['web'], machineClientIds: ['api-server'], backendClientIds: ['sync-job'] };

/** The OAuth error code a call throws (or 'ok'). */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jws = (header: unknown, payload: unknown, signature = 'c2ln') => `${b64(header)}.${b64(payload)}.${signature}`;
const request = (assertion: string, extra: Partial<ClientCredentialsRequest> = {}): ClientCredentialsRequest => ({ assertion, resources: [], ...extra });
const claims = (extra: Record<string, unknown> = {}) => ({ iss: 'sync-job', sub: 'sync-job', aud: TOKEN_URL, exp: NOW + 60, jti: 'a1b2c3', ...extra });

describe('parseClientCredentialsRequest (RFC 6749 §4.4.2, RFC 7523 §2.2)', () => {
  const base: [string, string][] = [
    ['grant_type', 'client_credentials'],
    ['client_assertion_type', CLIENT_ASSERTION_TYPE_JWT_BEARER],
    ['client_assertion', 'h.p.s'],
  ];

  test('reads assertion, scope, client_id and every resource', () => {
    expect(parseClientCredentialsRequest([...base, ['scope', 'system/Patient.rs'], ['client_id', 'sync-job'], ['resource', FHIR], ['resource', `${FHIR}/`]])).toEqual({
      assertion: 'h.p.s', scope: 'system/Patient.rs', clientId: 'sync-job', resources: [FHIR, `${FHIR}/`],
    });
  });

  test('an empty scope is no scope (RFC 6749 §3.1)', () => {
    expect(parseClientCredentialsRequest([...base, ['scope', '']]).scope).toBeUndefined();
  });

  test.each<[string, [string, string][], string]>([
    ['grant_type=password', [['grant_type', 'password'], ...base.slice(1)], 'unsupported_grant_type'],
    ['no client_assertion', base.slice(0, 2), 'invalid_request'],
    ['empty client_assertion', [...base.slice(0, 2), ['client_assertion', '']], 'invalid_request'],
    ['no client_assertion_type', [base[0]!, base[2]!], 'invalid_request'],
    ['SAML assertion type', [base[0]!, ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer'], base[2]!], 'invalid_request'],
    ['client_assertion twice', [...base, ['client_assertion', 'h.p.s']], 'invalid_request'],
    ['client_assertion_type twice', [...base, ['client_assertion_type', CLIENT_ASSERTION_TYPE_JWT_BEARER]], 'invalid_request'],
    ['scope twice', [...base, ['scope', 'system/Patient.rs'], ['scope', 'system/Patient.rs']], 'invalid_request'],
    ['a client_secret too', [...base, ['client_secret', 'x']], 'invalid_request'],
    ['an assertion over 8 KiB', [...base.slice(0, 2), ['client_assertion', 'a'.repeat(MAX_ASSERTION_LENGTH + 1)]], 'invalid_request'],
  ])('%s → %s', (_name, params, code) => {
    expect(outcome(() => parseClientCredentialsRequest(params))).toBe(code);
  });

  test('an assertion of exactly 8 KiB is read', () => {
    expect(outcome(() => parseClientCredentialsRequest([...base.slice(0, 2), ['client_assertion', 'a'.repeat(MAX_ASSERTION_LENGTH)]]))).toBe('ok');
  });
});

describe('readAssertion: header and claimed client, before any key is fetched', () => {
  const header = { alg: 'ES384', kid: 'k1', typ: 'JWT' };

  test('RS384 and ES384 with a kid name the client in iss = sub', () => {
    expect(readAssertion(request(jws(header, claims())))).toMatchObject({ alg: 'ES384', kid: 'k1', clientId: 'sync-job' });
    expect(readAssertion(request(jws({ ...header, alg: 'RS384', jku: 'https://sync.example/jwks.json' }, claims())))).toMatchObject({ alg: 'RS384', jku: 'https://sync.example/jwks.json' });
  });

  test.each<[string, string]>([
    ['alg RS256', jws({ ...header, alg: 'RS256' }, claims())],
    ['alg ES256', jws({ ...header, alg: 'ES256' }, claims())],
    ['alg RS512', jws({ ...header, alg: 'RS512' }, claims())],
    ['alg PS384', jws({ ...header, alg: 'PS384' }, claims())],
    ['alg HS256', jws({ ...header, alg: 'HS256' }, claims())],
    ['alg HS384', jws({ ...header, alg: 'HS384' }, claims())],
    ['alg none, unsigned', jws({ ...header, alg: 'none' }, claims(), '')],
    ['alg es384 (case matters)', jws({ ...header, alg: 'es384' }, claims())],
    ['no alg', jws({ kid: 'k1' }, claims())],
    ['ES384 but unsigned', jws(header, claims(), '')],
    ['no kid', jws({ alg: 'ES384' }, claims())],
    ['empty kid', jws({ ...header, kid: '' }, claims())],
    ['numeric kid', jws({ ...header, kid: 7 }, claims())],
    ['crit', jws({ ...header, crit: ['b64'], b64: false }, claims())],
    ['jku not a string', jws({ ...header, jku: ['https://x'] }, claims())],
    ['no iss', jws(header, claims({ iss: undefined }))],
    ['iss with a space', jws(header, claims({ iss: 'sync job', sub: 'sync job' }))],
    ['iss of 256 characters', jws(header, claims({ iss: 'a'.repeat(256), sub: 'a'.repeat(256) }))],
    ['sub is not iss', jws(header, claims({ sub: 'someone' }))],
    ['no sub', jws(header, claims({ sub: undefined }))],
    ['two segments', `${b64(header)}.${b64(claims())}`],
    ['four segments', `${jws(header, claims())}.x`],
    ['padding characters', `${jws(header, claims())}==`],
    ['header not JSON', `${b64('{alg')}.${b64(claims())}.c2ln`],
    ['payload an array', jws(header, [claims()])],
    ['payload invalid UTF-8', `${b64(header)}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.c2ln`],
  ])('%s → invalid_client', (_name, assertion) => {
    expect(outcome(() => readAssertion(request(assertion)))).toBe('invalid_client');
  });

  test('client_id, when sent, must name the assertion\'s client (RFC 7521 §4.2)', () => {
    expect(outcome(() => readAssertion(request(jws(header, claims()), { clientId: 'sync-job' })))).toBe('ok');
    expect(outcome(() => readAssertion(request(jws(header, claims()), { clientId: 'other' })))).toBe('invalid_client');
  });
});

describe('checkAssertionClaims (clock passed in)', () => {
  const check = (extra: Record<string, unknown>) => outcome(() => checkAssertionClaims(claims(extra), { clientId: 'sync-job', tokenUrl: TOKEN_URL, issuer: ISSUER, now: NOW }));

  test('returns the jti and exp for the replay store', () => {
    expect(checkAssertionClaims(claims(), { clientId: 'sync-job', tokenUrl: TOKEN_URL, now: NOW })).toEqual({ jti: 'a1b2c3', exp: NOW + 60 });
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['exp 1 s ahead', { exp: NOW + 1 }, 'ok'],
    ['exp exactly 300 s ahead', { exp: NOW + 300 }, 'ok'],
    ['exp 301 s ahead', { exp: NOW + 301 }, 'invalid_client'],
    ['exp a day ahead', { exp: NOW + 86_400 }, 'invalid_client'],
    ['exp = now', { exp: NOW }, 'invalid_client'],
    ['exp in the past', { exp: NOW - 1 }, 'invalid_client'],
    ['exp as a string', { exp: String(NOW + 60) }, 'invalid_client'],
    ['no exp', { exp: undefined }, 'invalid_client'],
    ['nbf = now', { nbf: NOW }, 'ok'],
    ['nbf in the future', { nbf: NOW + 1 }, 'invalid_client'],
    ['iat in the past', { iat: NOW - 10 }, 'ok'],
    ['iat as a string', { iat: 'yesterday' }, 'invalid_client'],
    ['aud as a one-element array', { aud: [TOKEN_URL] }, 'ok'],
    ['aud the FHIR base', { aud: FHIR }, 'invalid_client'],
    // RFC 7523 §3: the issuer identifier names this server too (oauth4webapi/openid-client's default)
    ['aud the issuer identifier', { aud: ISSUER }, 'ok'],
    ['aud the issuer as a one-element array', { aud: [ISSUER] }, 'ok'],
    ['aud both the issuer and the token URL', { aud: [ISSUER, TOKEN_URL] }, 'invalid_client'],
    ['aud the issuer with a trailing slash', { aud: `${ISSUER}/` }, 'invalid_client'],
    ['aud with a trailing slash', { aud: `${TOKEN_URL}/` }, 'invalid_client'],
    ['aud with another audience too', { aud: [TOKEN_URL, 'https://other.example/token'] }, 'invalid_client'],
    ['aud in upper case', { aud: TOKEN_URL.toUpperCase() }, 'invalid_client'],
    ['no aud', { aud: undefined }, 'invalid_client'],
    ['iss of another client', { iss: 'other', sub: 'other' }, 'invalid_client'],
    ['no jti', { jti: undefined }, 'invalid_client'],
    ['empty jti', { jti: '' }, 'invalid_client'],
    ['numeric jti', { jti: 42 }, 'invalid_client'],
    ['jti with a space', { jti: 'a b' }, 'invalid_client'],
    ['jti of 255 characters', { jti: 'j'.repeat(255) }, 'ok'],
    ['jti of 256 characters', { jti: 'j'.repeat(256) }, 'invalid_client'],
  ])('%s → %s', (_name, extra, expected) => {
    expect(check(extra)).toBe(expected);
  });
});

describe('checkRegistration and checkClientAllowed', () => {
  const unverified = (jku?: string): UnverifiedAssertion => ({ alg: 'ES384', kid: 'k1', clientId: 'sync-job', payload: claims(), ...(jku ? { jku } : {}) });
  const inline: BackendClient = { ...CLIENT, keys: { kind: 'jwks', jwks: { keys: [{ kty: 'EC', kid: 'k1' }] } } };

  test.each<[string, UnverifiedAssertion, BackendClient, string]>([
    ['active, no jku', unverified(), CLIENT, 'ok'],
    ['jku = the registered JWKS URL', unverified('https://sync.example/jwks.json'), CLIENT, 'ok'],
    ['jku another URL', unverified('https://evil.example/jwks.json'), CLIENT, 'invalid_client'],
    ['jku differing only by a trailing slash', unverified('https://sync.example/jwks.json/'), CLIENT, 'invalid_client'],
    ['jku on an inline-JWKS client', unverified('https://sync.example/jwks.json'), inline, 'invalid_client'],
    ['inline-JWKS client, no jku', unverified(), inline, 'ok'],
    ['revoked', unverified(), { ...CLIENT, status: 'revoked' }, 'invalid_client'],
  ])('%s → %s', (_name, assertion, client, expected) => {
    expect(outcome(() => checkRegistration(assertion, client))).toBe(expected);
  });

  test('only clients in backendClientIds get tokens (unauthorized_client otherwise)', () => {
    expect(outcome(() => checkClientAllowed('sync-job', CLIENTS))).toBe('ok');
    expect(outcome(() => checkClientAllowed('other', CLIENTS))).toBe('unauthorized_client');
    expect(outcome(() => checkClientAllowed('api-server', { userClientIds: [], machineClientIds: ['api-server'] }))).toBe('unauthorized_client');
  });
});

describe('decideBackendGrant', () => {
  const decide = (scope?: string, extra: Partial<Parameters<typeof decideBackendGrant>[0]> = {}) =>
    decideBackendGrant({ client: CLIENT, request: { assertion: 'x', resources: [], ...(scope !== undefined ? { scope } : {}) }, ceiling: ['system/*.cruds'], policy: POLICY, now: NOW, jti: 'issued-1', ...extra });

  test('no scope: every allowed scope, 300 s, sub = client_id = the client, no act/patient', () => {
    expect(decide()).toEqual({
      expiresIn: 300,
      claims: { iss: POLICY.issuer, sub: 'sync-job', aud: FHIR, client_id: 'sync-job', scope: 'system/Observation.rs system/Patient.r', jti: 'issued-1', iat: NOW, exp: NOW + 300 },
    });
  });

  test.each<[string, string]>([
    ['system/Observation.rs', 'system/Observation.rs'],
    ['system/Observation.r', 'system/Observation.r'],
    ['system/Observation.read', 'system/Observation.rs'], // v1 = rs, issued as v2 text
    ['system/Observation.rs?category=laboratory', 'system/Observation.rs?category=laboratory'],
    ['system/Observation.s system/Observation.rs', 'system/Observation.rs'],
    ['system/Patient.r system/Observation.s', 'system/Patient.r system/Observation.s'],
  ])('requested %s → issued %s', (requested, issued) => {
    expect(decide(requested).claims.scope).toBe(issued);
  });

  test.each<[string, string, string]>([
    ['a type not registered', 'system/Condition.rs', 'invalid_scope'],
    ['a permission not registered', 'system/Patient.rs', 'invalid_scope'],
    ['write', 'system/Observation.cu', 'invalid_scope'],
    ['wildcard type', 'system/*.rs', 'invalid_scope'],
    ['patient/', 'patient/Observation.rs', 'invalid_scope'],
    ['user/', 'user/Observation.rs', 'invalid_scope'],
    ['openid', 'openid', 'invalid_scope'],
    ['launch', 'launch', 'invalid_scope'],
    ['a foreign scope', 'fhirgate/delegate', 'invalid_scope'],
    ['malformed', 'system/Observation', 'invalid_scope'],
    ['out-of-order letters', 'system/Observation.sr', 'invalid_scope'],
  ])('%s (%s) → %s', (_name, requested, code) => {
    expect(outcome(() => decide(requested))).toBe(code);
  });

  test('the system ceiling narrows what is issued, and may leave nothing', () => {
    expect(decide(undefined, { ceiling: ['system/*.rs'] }).claims.scope).toBe('system/Observation.rs system/Patient.r');
    expect(decide(undefined, { ceiling: ['system/Patient.rs'] }).claims.scope).toBe('system/Patient.r');
    expect(outcome(() => decide('system/Observation.rs', { ceiling: ['system/Patient.rs'] }))).toBe('invalid_scope');
    expect(outcome(() => decide(undefined, { ceiling: ['system/Condition.rs'] }))).toBe('invalid_scope');
  });

  test('resource must be the FHIR base (trailing slash tolerated), else invalid_target', () => {
    expect(outcome(() => decide(undefined, { request: { assertion: 'x', resources: [FHIR, `${FHIR}/`] } }))).toBe('ok');
    expect(outcome(() => decide(undefined, { request: { assertion: 'x', resources: ['https://payments.example/'] } }))).toBe('invalid_target');
  });

  test('a shorter policy lifetime is honoured; nothing beyond 300 s is ever issued', () => {
    expect(decide(undefined, { policy: { ...POLICY, lifetimeSeconds: 60 } }).claims.exp).toBe(NOW + 60);
    expect(decide(undefined, { policy: { ...POLICY, lifetimeSeconds: 3600 } }).expiresIn).toBe(300);
  });

  test('property: whatever is requested, an issued scope is system/ and covered by the registration', () => {
    const pool = ['system/Observation.rs', 'system/Observation.r', 'system/Observation.cruds', 'system/Patient.r', 'system/Patient.rs', 'system/*.rs', 'patient/Observation.rs', 'system/Condition.r'];
    const allowed = parseScopeString(CLIENT.scopes.join(' ')).resource;
    fc.assert(
      fc.property(fc.subarray(pool, { minLength: 1 }), (requested) => {
        let scope: string;
        try {
          scope = decide(requested.join(' ')).claims.scope;
        } catch (err) {
          return err instanceof OAuthError && err.code === 'invalid_scope';
        }
        const issued = parseScopeString(scope).resource;
        return issued.length > 0 && issued.every((s) => s.context === 'system' && [...s.permissions].every((p) => grantFor(allowed, s.resourceType, p).kind !== 'none'));
      }),
    );
  });
});

describe('parseBackendClient (registry items and CLI input)', () => {
  const item = (extra: Record<string, unknown> = {}) => {
    const v: Record<string, unknown> = { clientId: 'sync-job', status: 'active', jwksUri: 'https://sync.example/jwks.json', scopes: ['system/Observation.rs'], ...extra };
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete v[k];
    return v;
  };
  const jwk = { kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'k1' };

  test('a JWKS URL registration', () => {
    expect(parseBackendClient(item({ name: 'Nightly sync' }))).toEqual({
      ok: true,
      client: { clientId: 'sync-job', status: 'active', keys: { kind: 'jwks_uri', uri: 'https://sync.example/jwks.json' }, scopes: ['system/Observation.rs'], name: 'Nightly sync' },
    });
  });

  test('an inline JWKS, as JSON text (the table) or as an object (the CLI)', () => {
    for (const jwks of [JSON.stringify({ keys: [jwk] }), { keys: [jwk] }]) {
      expect(parseBackendClient(item({ jwksUri: undefined, jwks }))).toMatchObject({ ok: true, client: { keys: { kind: 'jwks', jwks: { keys: [jwk] } } } });
    }
  });

  test('loopback http JWKS URLs are allowed (local stack)', () => {
    expect(parseBackendClient(item({ jwksUri: 'http://127.0.0.1:9000/jwks.json' })).ok).toBe(true);
  });

  test.each<[string, Record<string, unknown>]>([
    ['no clientId', { clientId: undefined }],
    ['clientId with a space', { clientId: 'sync job' }],
    ['unknown status', { status: 'suspended' }],
    ['neither jwksUri nor jwks', { jwksUri: undefined }],
    ['both jwksUri and jwks', { jwks: { keys: [jwk] } }],
    ['http JWKS URL off loopback', { jwksUri: 'http://sync.example/jwks.json' }],
    ['not a URL', { jwksUri: 'sync.example/jwks.json' }],
    ['jwks not JSON', { jwksUri: undefined, jwks: '{keys' }],
    ['jwks without keys', { jwksUri: undefined, jwks: { keys: [] } }],
    ['a JWK without kid', { jwksUri: undefined, jwks: { keys: [{ ...jwk, kid: undefined }] } }],
    ['a symmetric JWK', { jwksUri: undefined, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }] } }],
    ['a private EC JWK', { jwksUri: undefined, jwks: { keys: [{ ...jwk, d: 'secret' }] } }],
    ['a private RSA JWK', { jwksUri: undefined, jwks: { keys: [{ kty: 'RSA', n: 'n', e: 'AQAB', kid: 'r', p: 'p' }] } }],
    ['eleven keys', { jwksUri: undefined, jwks: { keys: Array.from({ length: 11 }, (_, i) => ({ ...jwk, kid: `k${i}` })) } }],
    ['no scopes', { scopes: [] }],
    ['scopes as a string', { scopes: 'system/Observation.rs' }],
    ['a patient/ scope', { scopes: ['system/Observation.rs', 'patient/*.rs'] }],
    ['a user/ scope', { scopes: ['user/*.rs'] }],
    ['a foreign scope', { scopes: ['fhirgate/delegate'] }],
    ['a malformed scope', { scopes: ['system/Observation'] }],
    ['name not a string', { name: 7 }],
  ])('%s → refused with a reason', (_name, extra) => {
    const result = parseBackendClient(item(extra));
    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('reason', expect.any(String));
  });
});

describe('the authorizer side: system/ tokens from fhirgate\'s issuer (classifyBackendClaims)', () => {
  const token = (extra: Record<string, unknown> = {}) => {
    const v: Record<string, unknown> = { iss: POLICY.issuer, sub: 'sync-job', client_id: 'sync-job', aud: FHIR, scope: 'system/Observation.rs', exp: NOW + 300, ...extra };
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete v[k];
    return v;
  };
  const code = (f: () => unknown) => {
    try {
      f();
      return 'ok';
    } catch (err) {
      if (err instanceof TokenError) return err.code;
      throw err;
    }
  };

  test('becomes a system principal capped by the system ceiling', () => {
    const p = machinePrincipal(classifyBackendClaims(token({ scope: 'system/*.cruds' }), CLIENTS), { ...DEFAULT_SETTINGS, systemCeilingScopes: ['system/*.rs'] });
    expect(p).toMatchObject({ kind: 'system', sub: 'sync-job', clientId: 'sync-job', patients: [] });
    expect(p.scopes.map((s) => s.raw)).toEqual(['system/*.rs']);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['act present', { act: { sub: 'sync-job' } }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['sub ≠ client_id', { sub: 'u-alice' }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['client not in backendClientIds', { sub: 'api-server', client_id: 'api-server' }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['patient claim', { patient: 'pat-alice' }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['fhirUser claim', { fhirUser: 'Patient/pat-alice' }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['no exp', { exp: undefined }, 'ERR_TOKEN_CLAIM_INVALID'],
    ['patient/ scopes', { scope: 'patient/*.rs' }, 'ERR_SCOPE_INVALID'],
    ['system/ with patient/', { scope: 'system/*.rs patient/*.rs' }, 'ERR_SCOPE_INVALID'],
    ['system/ with a foreign scope', { scope: 'system/*.rs fhirgate/delegate' }, 'ERR_SCOPE_INVALID'],
    ['no scope', { scope: undefined }, 'ERR_SCOPE_INVALID'],
  ])('%s → %s', (_name, extra, expected) => {
    expect(code(() => classifyBackendClaims(token(extra), CLIENTS))).toBe(expected);
  });

  test('no backendClientIds configured: no system/ token from fhirgate\'s issuer is accepted', () => {
    expect(code(() => classifyBackendClaims(token(), { userClientIds: [], machineClientIds: ['sync-job'] }))).toBe('ERR_TOKEN_CLAIM_INVALID');
  });

  test('and the delegated shape still refuses system/ scopes, so neither passes for the other', () => {
    expect(code(() => classifyDelegatedClaims(token({ sub: 'u-alice', client_id: 'api-server', act: { sub: 'api-server' }, patient: 'pat-alice', scope: 'system/*.rs' }), CLIENTS))).toBe('ERR_SCOPE_INVALID');
  });
});
