/**
 * The authorization server's pure rules (functions/core/app-launch.ts and app-launch-grants.ts):
 * which authorize requests go back to the app and which never do, what is granted, which
 * patients are offered, what a code and a refresh token must match, and which app tokens the
 * authorizer accepts. Each case names the request or claims it sends.
 */
import {
  AppClient,
  AuthorizeError,
  automaticPatient,
  checkAppClient,
  DEFAULT_APP_LAUNCH_POLICY,
  grantScopes,
  launchUser,
  parseAuthorizeRequest,
  pickedPatient,
} from '../../functions/core/app-launch';
import { checkCodeRedemption, checkStillLinked, classifyLaunchClaims, CodeRecord, launchPrincipal, launchTokenClaims, narrowed } from '../../functions/core/app-launch-grants';
import { TokenError } from '../../functions/core/errors';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const AUD = 'https://api.example.com/prod/fhir';
const APP: AppClient = { clientId: 'portal', name: 'Portal', status: 'active', redirectUris: ['https://app.example.com/'], scopes: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'patient/Observation.cu'] };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const GOOD: [string, string][] = [
  ['response_type', 'code'],
  ['client_id', 'portal'],
  ['redirect_uri', 'https://app.example.com/'],
  ['aud', AUD],
  ['scope', 'openid fhirUser launch/patient patient/*.rs'],
  ['state', 's1'],
  ['code_challenge', CHALLENGE],
  ['code_challenge_method', 'S256'],
];
const without = (name: string) => GOOD.filter(([k]) => k !== name);
const withParam = (name: string, value: string) => [...without(name), [name, value] as [string, string]];

function refusal(fn: () => unknown): AuthorizeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuthorizeError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('parseAuthorizeRequest', () => {
  test('a complete S256 request is accepted as sent', () => {
    expect(parseAuthorizeRequest(GOOD, APP, { audience: AUD })).toEqual({ clientId: 'portal', redirectUri: 'https://app.example.com/', state: 's1', codeChallenge: CHALLENGE, scope: 'openid fhirUser launch/patient patient/*.rs' });
  });

  test.each([
    ['unknown client (registry has none)', GOOD, undefined, 'unauthorized_client'],
    ['revoked client', GOOD, { ...APP, status: 'revoked' as const }, 'unauthorized_client'],
    ['no client_id', without('client_id'), APP, 'invalid_request'],
    ['no redirect_uri', without('redirect_uri'), APP, 'invalid_request'],
    ['redirect_uri with a trailing path', withParam('redirect_uri', 'https://app.example.com/x'), APP, 'invalid_request'],
    ['redirect_uri repeated', [...GOOD, ['redirect_uri', 'https://evil.example/']] as [string, string][], APP, 'invalid_request'],
  ])('%s: shown to the user, never redirected', (_name, query, client, code) => {
    const err = refusal(() => parseAuthorizeRequest(query, client, { audience: AUD }));
    expect([err.code, err.redirect]).toEqual([code, false]);
  });

  test.each([
    ['no code_challenge', without('code_challenge'), 'invalid_request'],
    ['code_challenge_method=plain', withParam('code_challenge_method', 'plain'), 'invalid_request'],
    ['no code_challenge_method', without('code_challenge_method'), 'invalid_request'],
    ['aud of another server', withParam('aud', 'https://other.example/fhir'), 'invalid_request'],
    ['no aud', without('aud'), 'invalid_request'],
    ['no state', without('state'), 'invalid_request'],
    ['response_type=token', withParam('response_type', 'token'), 'unsupported_response_type'],
    ['no scope', without('scope'), 'invalid_scope'],
    ['scope repeated', [...GOOD, ['scope', 'patient/*.cruds']] as [string, string][], 'invalid_request'],
  ])('%s: back to the app with its state', (_name, query, code) => {
    const err = refusal(() => parseAuthorizeRequest(query, APP, { audience: AUD }));
    expect([err.code, err.redirect, err.target?.redirectUri]).toEqual([code, true, 'https://app.example.com/']);
  });
});

describe('grantScopes: requested ∩ client ∩ role', () => {
  const policy = DEFAULT_APP_LAUNCH_POLICY;
  test('patient asks patient/*.cruds: read-only granted by default', () => {
    expect(grantScopes('launch/patient patient/*.cruds', APP, 'patient', DEFAULT_SETTINGS, policy).scope).toBe('launch/patient patient/*.rs');
  });
  test('a deployment that lets patients write Observations: the app gets it when it asks and is allowed', () => {
    const writes = { roleScopes: { ...policy.roleScopes, patient: ['patient/*.rs', 'patient/Observation.c'] } };
    expect(grantScopes('patient/*.rs patient/Observation.cu', APP, 'patient', DEFAULT_SETTINGS, writes).resourceScope).toBe('patient/*.rs patient/Observation.c');
  });
  test('user/ and system/ requests grant nothing; SMART names only when registered', () => {
    expect(() => grantScopes('user/*.rs system/*.rs', APP, 'practitioner', DEFAULT_SETTINGS, policy)).toThrow(AuthorizeError);
    const g = grantScopes('openid fhirUser online_access patient/Observation.rs', APP, 'practitioner', DEFAULT_SETTINGS, policy);
    expect(g).toMatchObject({ scope: 'openid fhirUser patient/Observation.rs', openid: true, fhirUser: true, refresh: undefined });
  });
});

describe('patients offered', () => {
  const link = { sub: 'u1', role: 'guardian' as const, fhirUser: 'RelatedPerson/rp1', patients: ['pat-a', 'pat-b'] };
  test('a guardian picks among her linked patients only, even from one', () => {
    const user = launchUser({ sub: 'u1', groups: ['guardian'] }, link, DEFAULT_SETTINGS);
    expect(user.patients).toEqual(['pat-a', 'pat-b']);
    expect(automaticPatient({ ...user, patients: ['pat-a'] })).toBeUndefined();
    expect(pickedPatient(user, 'pat-b')).toBe('pat-b');
    expect(() => pickedPatient(user, 'pat-c')).toThrow(AuthorizeError);
  });
  test('a patient gets her own record without a picker', () => {
    const user = launchUser({ sub: 'u2' }, { sub: 'u2', role: 'patient', fhirUser: 'Patient/pat-x', patients: [] }, DEFAULT_SETTINGS);
    expect(automaticPatient(user)).toBe('pat-x');
  });
  test('no link, or a role Cognito does not confirm: access_denied', () => {
    expect(refusal(() => launchUser({ sub: 'u3' }, undefined, DEFAULT_SETTINGS)).code).toBe('access_denied');
    expect(refusal(() => launchUser({ sub: 'u1', groups: ['patient'] }, link, DEFAULT_SETTINGS)).code).toBe('access_denied');
  });
});

const CONTEXT = { clientId: 'portal', sub: 'u1', role: 'guardian' as const, fhirUser: 'RelatedPerson/rp1', patient: 'pat-a', scope: 'openid fhirUser offline_access patient/*.rs', resourceScope: 'patient/*.rs', openid: true, fhirUserClaim: true, refresh: 'offline' as const, family: 'f1' };
const CODE: CodeRecord = { ...CONTEXT, redirectUri: 'https://app.example.com/', codeChallenge: CHALLENGE, exp: 1060 };

describe('code redemption', () => {
  const request = { code: 'c', clientId: 'portal', redirectUri: 'https://app.example.com/', codeVerifier: 'v'.repeat(43) };
  test.each([
    ['the matching verifier, in time', request, CHALLENGE, 1059, undefined],
    ['another client', { ...request, clientId: 'other' }, CHALLENGE, 1000, /another client/],
    ['another redirect_uri', { ...request, redirectUri: 'https://app.example.com/x' }, CHALLENGE, 1000, /redirect_uri/],
    ['a wrong verifier', request, 'x'.repeat(43), 1000, /code_verifier/],
    ['after expiry', request, CHALLENGE, 1060, /expired/],
  ])('%s', (_name, req, challenge, now, error) => {
    const run = () => checkCodeRedemption(CODE, req, challenge, now);
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });

  test('a link that no longer holds the patient ends the launch', () => {
    expect(() => checkStillLinked(CONTEXT, { sub: 'u1', role: 'guardian', fhirUser: 'RelatedPerson/rp1', patients: ['pat-b'] })).toThrow(/no longer linked/);
  });

  test('a refresh narrows, never widens', () => {
    expect(narrowed(CONTEXT, 'patient/Observation.rs').resourceScope).toBe('patient/Observation.rs');
    expect(() => narrowed(CONTEXT, 'patient/*.cruds')).toThrow(/was not granted/);
    expect(() => narrowed(CONTEXT, 'online_access patient/*.rs')).toThrow(/was not granted/);
  });

  test('tokens: access claims with patient and client, id_token with fhirUser and nonce', () => {
    const t = launchTokenClaims(CONTEXT, { issuer: 'https://api.example.com/prod/auth', audience: AUD, accessTokenSeconds: 300, now: 1000, jti: 'j', nonce: 'n' });
    expect(t.access).toEqual({ iss: 'https://api.example.com/prod/auth', sub: 'u1', aud: AUD, client_id: 'portal', scope: 'patient/*.rs', patient: 'pat-a', fhirUser: 'RelatedPerson/rp1', jti: 'j', iat: 1000, exp: 1300 });
    expect(t.id).toMatchObject({ aud: 'portal', nonce: 'n', fhirUser: 'RelatedPerson/rp1' });
  });
});

describe('app tokens at the authorizer', () => {
  const clients = { userClientIds: ['web'], machineClientIds: ['api-server'], backendClientIds: ['backend-sync'] };
  const claims = { sub: 'u1', client_id: 'portal', patient: 'pat-a', fhirUser: 'RelatedPerson/rp1', scope: 'patient/*.rs', exp: 2000 };
  const link = { sub: 'u1', role: 'guardian' as const, fhirUser: 'RelatedPerson/rp1', patients: ['pat-a', 'pat-b'] };

  test('a launch token becomes the user, confined to the launch patient', () => {
    expect(launchPrincipal(classifyLaunchClaims(claims, clients), link, DEFAULT_SETTINGS)).toMatchObject({ kind: 'guardian', sub: 'u1', clientId: 'portal', patients: ['pat-a'] });
  });
  test.each([
    ['act present', { ...claims, act: { sub: 'api-server' } }],
    ['a machine client (an exchanged token stripped of act)', { ...claims, client_id: 'api-server' }],
    ['a backend client', { ...claims, client_id: 'backend-sync' }],
    ['sub = client_id', { ...claims, sub: 'portal' }],
    ['a system/ scope', { ...claims, scope: 'system/*.rs' }],
    ['a user/ scope', { ...claims, scope: 'user/*.rs' }],
    ['a patient that is not a FHIR id', { ...claims, patient: 'a/b' }],
  ])('refused (401): %s', (_name, bad) => {
    expect(() => classifyLaunchClaims(bad, clients)).toThrow(TokenError);
  });
  test('unlinked from the launch patient since: 403', () => {
    expect(() => launchPrincipal(classifyLaunchClaims(claims, clients), { ...link, patients: ['pat-b'] }, DEFAULT_SETTINGS)).toThrow(/no longer linked/);
  });
});

test('checkAppClient: patient/ scopes and SMART names only; https or loopback redirects without fragments', () => {
  expect(checkAppClient(APP)).toBe(APP);
  expect(() => checkAppClient({ ...APP, scopes: ['launch'] })).toThrow(/patient\//);
  expect(() => checkAppClient({ ...APP, redirectUris: ['http://app.example.com/'] })).toThrow(/https/);
  expect(() => checkAppClient({ ...APP, redirectUris: [] })).toThrow(/at least one/);
});
