/**
 * Principal building: token shape, client allow-lists, link validation, effective scopes.
 * Pure functions over claims that the authorizer has already verified.
 */
import { AccessDeniedError, TokenError } from '../../functions/core/errors';
import { classifyClaims, delegatedPrincipal, LinkRecord, machinePrincipal, parseLinkRecord, userPrincipal } from '../../functions/core/principal';
import { principalFromContext, principalToContext } from '../../functions/core/principal-context';
import { formatScope } from '../../functions/core/scopes';
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../../functions/core/settings';

const clients = { userClientIds: ['web'], machineClientIds: ['api-server'] };
const exp = Math.floor(Date.now() / 1000) + 600;
const user = (extra: Record<string, unknown> = {}) => ({ sub: 'u-1', username: 'u-1', client_id: 'web', scope: 'aws.cognito.signin.user.admin', exp, ...extra });
const machine = (scope: string) => ({ sub: 'api-server', client_id: 'api-server', scope, exp });

const scopesOf = (p: { scopes: readonly Parameters<typeof formatScope>[0][] }) => p.scopes.map(formatScope).sort();

function principalFor(claims: Record<string, unknown>, link?: LinkRecord, settings: AuthzSettings = DEFAULT_SETTINGS) {
  const c = classifyClaims(claims, clients);
  return c.shape === 'machine' ? machinePrincipal(c, settings) : userPrincipal(c, link, settings);
}

describe('classification', () => {
  test('a token without exp is refused (it would never expire)', () => {
    const { exp: _exp, ...noExp } = machine('system/*.rs');
    expect(() => classifyClaims(noExp, clients)).toThrow(/exp/);
  });
  test('sub = client_id and no username → machine', () => {
    expect(classifyClaims(machine('system/*.rs'), clients).shape).toBe('machine');
  });
  test('a username makes it a user token even when sub equals client_id', () => {
    expect(() => classifyClaims({ ...machine('system/*.rs'), username: 'api-server' }, clients)).toThrow(TokenError);
  });
  test('a machine-shaped token from a user-facing client is refused', () => {
    expect(() => classifyClaims({ sub: 'web', client_id: 'web', exp }, clients)).toThrow(/not an allowed machine client/);
  });
  test('a non-string scope claim is refused', () => {
    expect(() => classifyClaims(user({ scope: ['patient/*.rs'] }), clients)).toThrow(/scope/);
  });
  test('missing sub is refused', () => {
    expect(() => classifyClaims({ client_id: 'web', exp }, clients)).toThrow(/sub/);
  });
});

describe('machine principals', () => {
  test('keep their system/ scopes', () => {
    const p = principalFor(machine('system/Observation.rs system/Patient.r'));
    expect(p).toMatchObject({ kind: 'system', sub: 'api-server', patients: [] });
    expect(scopesOf(p)).toEqual(['system/Observation.rs', 'system/Patient.r']);
  });
  test('are capped by the system ceiling', () => {
    const settings = { ...DEFAULT_SETTINGS, systemCeilingScopes: ['system/*.rs'] };
    expect(scopesOf(principalFor(machine('system/*.cruds'), undefined, settings))).toEqual(['system/*.rs']);
  });
  test('with only foreign scopes are denied (403, not 401)', () => {
    expect(() => principalFor(machine('fhirgate/delegate'))).toThrow(AccessDeniedError);
  });
});

describe('user principals', () => {
  const alice: LinkRecord = { sub: 'u-1', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] };

  test('plain Cognito sign-in (no FHIR scopes) gets the role defaults', () => {
    const p = principalFor(user(), alice);
    expect(p).toMatchObject({ kind: 'patient', patients: ['pat-alice'], fhirUser: 'Patient/pat-alice' });
    expect(scopesOf(p)).toEqual(['patient/*.rs']);
  });
  test('FHIR scopes in the token are intersected with the ceiling, not replaced by defaults', () => {
    expect(scopesOf(principalFor(user({ scope: 'patient/Observation.r' }), alice))).toEqual(['patient/Observation.r']);
  });
  test('a token asking for more than the ceiling gets only the ceiling part', () => {
    const settings = parseSettings({ ...DEFAULT_SETTINGS, roles: { ...DEFAULT_SETTINGS.roles, patient: { ...DEFAULT_SETTINGS.roles.patient, ceilingScopes: ['patient/*.rs'] } } });
    expect(scopesOf(principalFor(user({ scope: 'patient/*.cruds' }), alice, settings))).toEqual(['patient/*.rs']);
  });
  test('no link → ERR_NO_LINK', () => {
    expect(() => principalFor(user(), undefined)).toThrow(expect.objectContaining({ code: 'ERR_NO_LINK', status: 403 }));
  });
  test('a link an operator disabled → ERR_USER_DISABLED (403), whatever the token still holds', () => {
    const disabled = { ...alice, disabledAt: '2026-01-02T03:04:05.000Z' };
    expect(() => principalFor(user(), disabled)).toThrow(expect.objectContaining({ code: 'ERR_USER_DISABLED', status: 403, message: expect.stringContaining('2026-01-02T03:04:05.000Z') }));
    expect(() => principalFor(user({ scope: 'patient/Observation.r' }), disabled)).toThrow(expect.objectContaining({ code: 'ERR_USER_DISABLED' }));
  });
  test('patient role needs fhirUser Patient/<id>', () => {
    expect(() => principalFor(user(), { ...alice, fhirUser: 'Practitioner/x' })).toThrow(/fhirUser Patient/);
  });
  test('patient role cannot hold other patients', () => {
    expect(() => principalFor(user(), { ...alice, patients: ['pat-alice', 'pat-bob'] })).toThrow(/guardian/);
  });
  test('patient role compartment comes from fhirUser even when patients is empty', () => {
    expect(principalFor(user(), { ...alice, patients: [] }).patients).toEqual(['pat-alice']);
  });
  test('guardian holds exactly the linked patients', () => {
    const p = principalFor(user(), { sub: 'u-1', role: 'guardian', fhirUser: 'RelatedPerson/rp-1', patients: ['pat-carol', 'pat-dave'] });
    expect(p).toMatchObject({ kind: 'guardian', patients: ['pat-carol', 'pat-dave'] });
  });
  test('a patient/ scope with no patient context grants nothing', () => {
    const guardianNoKids: LinkRecord = { sub: 'u-1', role: 'guardian', patients: [] };
    expect(() => principalFor(user(), guardianNoKids)).toThrow(expect.objectContaining({ code: 'ERR_SCOPE_INSUFFICIENT' }));
  });
  test('cognito:groups must confirm the link role when present', () => {
    expect(principalFor(user({ 'cognito:groups': ['patient'] }), alice).kind).toBe('patient');
    expect(() => principalFor(user({ 'cognito:groups': ['guardian'] }), alice)).toThrow(expect.objectContaining({ code: 'ERR_ROLE_MISMATCH' }));
  });
});

describe('link record validation (untrusted storage)', () => {
  test.each([
    ['unknown role', { sub: 'u', role: 'admin', patients: [] }],
    ['patients not ids', { sub: 'u', role: 'guardian', patients: ['Patient/1'] }],
    ['patients not a list', { sub: 'u', role: 'guardian', patients: 'pat-1' }],
    ['fhirUser not a reference', { sub: 'u', role: 'patient', fhirUser: 'pat-1' }],
    ['fhirUser of a non-user type', { sub: 'u', role: 'patient', fhirUser: 'Observation/1' }],
    ['missing sub', { role: 'patient', fhirUser: 'Patient/1' }],
    // A disabled marker the reader cannot read as a time is not read as "enabled".
    ['disabledAt of another type (DynamoDB N or BOOL, read as null)', { sub: 'u', role: 'guardian', patients: [], disabledAt: null }],
    ['disabledAt true', { sub: 'u', role: 'guardian', patients: [], disabledAt: true }],
    ['disabledAt empty', { sub: 'u', role: 'guardian', patients: [], disabledAt: '' }],
  ])('%s → ERR_LINK_INVALID', (_name, item) => {
    expect(() => parseLinkRecord(item)).toThrow(expect.objectContaining({ code: 'ERR_LINK_INVALID' }));
  });
  test('a valid record is kept, duplicates removed', () => {
    expect(parseLinkRecord({ sub: 'u', role: 'guardian', patients: ['a', 'a', 'b'] })).toEqual({ sub: 'u', role: 'guardian', fhirUser: undefined, patients: ['a', 'b'] });
  });
  test('the disabled marker is kept as read', () => {
    expect(parseLinkRecord({ sub: 'u', role: 'guardian', patients: ['a'], disabledAt: '2026-01-02T03:04:05.000Z' })).toMatchObject({ disabledAt: '2026-01-02T03:04:05.000Z' });
  });
});

describe('delegated principals follow the same link rule', () => {
  const token = { sub: 'u-1', actor: 'api-server', patient: 'pat-alice', fhirUser: 'Patient/pat-alice', scopes: classifyClaims(user({ scope: 'patient/*.rs' }), clients).scopes.resource };
  const alice: LinkRecord = { sub: 'u-1', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] };
  test('linked and enabled → delegated principal for the one patient', () => {
    expect(delegatedPrincipal(token, alice, DEFAULT_SETTINGS)).toMatchObject({ kind: 'delegated', patients: ['pat-alice'], actor: 'api-server' });
  });
  test('link deleted since the exchange → ERR_NO_LINK', () => {
    expect(() => delegatedPrincipal(token, undefined, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'ERR_NO_LINK' }));
  });
  test('user disabled since the exchange → ERR_USER_DISABLED', () => {
    expect(() => delegatedPrincipal(token, { ...alice, disabledAt: '2026-01-02T03:04:05.000Z' }, DEFAULT_SETTINGS)).toThrow(expect.objectContaining({ code: 'ERR_USER_DISABLED', status: 403 }));
  });
});

describe('authorizer context round trip', () => {
  test('principal → context → principal is lossless', () => {
    const p = principalFor(user({ scope: 'patient/Observation.rs?category=laboratory patient/Condition.r' }), {
      sub: 'u-1',
      role: 'guardian',
      fhirUser: 'RelatedPerson/rp-1',
      patients: ['pat-carol', 'pat-dave'],
    });
    const ctx = principalToContext(p);
    expect(Object.values(ctx).every((v) => typeof v === 'string')).toBe(true);
    const back = principalFromContext(ctx);
    expect(back).toMatchObject({ kind: 'guardian', sub: 'u-1', clientId: 'web', fhirUser: 'RelatedPerson/rp-1', patients: ['pat-carol', 'pat-dave'] });
    expect(scopesOf(back)).toEqual(scopesOf(p));
  });
  test.each([
    ['missing', undefined],
    ['unknown kind', { kind: 'admin', sub: 's', clientId: 'c', patients: '', scopes: 'system/*.rs' }],
    ['bad patient id', { kind: 'patient', sub: 's', clientId: 'c', patients: 'a/b', scopes: 'patient/*.rs' }],
    ['bad scope', { kind: 'patient', sub: 's', clientId: 'c', patients: 'a', scopes: 'patient/*.sr' }],
    ['foreign scope smuggled in', { kind: 'patient', sub: 's', clientId: 'c', patients: 'a', scopes: 'patient/*.rs admin' }],
    ['no scopes field', { kind: 'patient', sub: 's', clientId: 'c', patients: 'a' }],
  ])('unusable context (%s) is refused, never defaulted', (_name, ctx) => {
    expect(() => principalFromContext(ctx as Record<string, string> | undefined)).toThrow(/authorizer context is unusable/);
  });
});

describe('settings', () => {
  test('defaults validate', () => {
    expect(parseSettings(JSON.parse(JSON.stringify(DEFAULT_SETTINGS)))).toEqual(DEFAULT_SETTINGS);
  });
  test.each([
    ['invalid ceiling scope', { ...DEFAULT_SETTINGS, systemCeilingScopes: ['system/*.sr'] }],
    ['foreign scope as a default', { ...DEFAULT_SETTINGS, roles: { ...DEFAULT_SETTINGS.roles, patient: { ...DEFAULT_SETTINGS.roles.patient, defaultScopes: ['openid'] } } }],
    ['missing role', { ...DEFAULT_SETTINGS, roles: { patient: DEFAULT_SETTINGS.roles.patient } }],
    ['shared types not strings', { ...DEFAULT_SETTINGS, sharedResourceTypes: [1] }],
  ])('%s → TypeError', (_name, value) => {
    expect(() => parseSettings(value)).toThrow(TypeError);
  });
});
