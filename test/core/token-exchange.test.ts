/**
 * RFC 8693 exchange rules over claims that the handler has already verified: request shape,
 * target, actor, subject, link, patient selection, scope intersection and lifetime. Tables name
 * each case by the request it makes and the outcome it must get.
 */
import fc from 'fast-check';
import { OAuthError } from '../../functions/core/oauth-error';
import type { LinkRecord } from '../../functions/core/principal';
import { grantFor } from '../../functions/core/scope-check';
import { parseScopeString, PERMISSIONS } from '../../functions/core/scopes';
import { AuthzSettings, DEFAULT_SETTINGS } from '../../functions/core/settings';
import {
  actorOf,
  checkExchangePolicy,
  checkTarget,
  decideExchange,
  ExchangeGrant,
  ExchangePolicy,
  GRANT_TYPE_TOKEN_EXCHANGE,
  parseExchangeRequest,
  subjectOf,
  TOKEN_TYPE_ACCESS_TOKEN,
} from '../../functions/core/token-exchange';

const COGNITO = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool';
const FHIR = 'https://api.example.test/prod/fhir';
const POLICY: ExchangePolicy = {
  issuer: 'https://api.example.test/prod/auth',
  audience: FHIR,
  delegationScope: 'fhirgate/delegate',
  delegableScopes: ['patient/*.rs'],
  lifetimeSeconds: 300,
};
const CLIENTS = { userClientIds: ['web'], machineClientIds: ['api-server', 'other-machine'] };
const NOW = 1_800_000_000;

const user = (extra: Record<string, unknown> = {}) => ({
  iss: COGNITO, sub: 'u-alice', username: 'u-alice', client_id: 'web', token_use: 'access', scope: 'aws.cognito.signin.user.admin', exp: NOW + 3600, ...extra,
});
const machine = (extra: Record<string, unknown> = {}) => ({
  iss: COGNITO, sub: 'api-server', client_id: 'api-server', token_use: 'access', scope: 'fhirgate/delegate', exp: NOW + 3600, ...extra,
});
/** A token this exchange issued (what chaining would present). */
const exchanged = (extra: Record<string, unknown> = {}) => ({
  iss: POLICY.issuer, sub: 'u-alice', client_id: 'api-server', act: { sub: 'api-server' }, aud: FHIR, scope: 'patient/*.rs', patient: 'pat-alice', exp: NOW + 300, ...extra,
});

const LINKS: Record<string, LinkRecord> = {
  alice: { sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] },
  dana: { sub: 'u-alice', role: 'guardian', fhirUser: 'RelatedPerson/rp-dana', patients: ['pat-carol', 'pat-dave'] },
  ed: { sub: 'u-alice', role: 'guardian', fhirUser: 'RelatedPerson/rp-ed', patients: ['pat-erin'] },
  gina: { sub: 'u-alice', role: 'guardian', fhirUser: 'Patient/pat-gina', patients: ['pat-kid', 'pat-gina'] },
  doc: { sub: 'u-alice', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ['pat-bob'] },
  lonely: { sub: 'u-alice', role: 'guardian', fhirUser: 'RelatedPerson/rp-x', patients: [] },
  badPatient: { sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice', 'pat-bob'] },
};

const BASE_FORM: [string, string][] = [
  ['grant_type', GRANT_TYPE_TOKEN_EXCHANGE],
  ['subject_token', 'subject.jwt'],
  ['subject_token_type', TOKEN_TYPE_ACCESS_TOKEN],
  ['actor_token', 'actor.jwt'],
  ['actor_token_type', TOKEN_TYPE_ACCESS_TOKEN],
];

/** The base form with some parameters replaced (undefined: removed) and others appended. */
function formWith(replace: Record<string, string | undefined> = {}, append: [string, string][] = []): [string, string][] {
  const kept = BASE_FORM.filter(([k]) => !(k in replace));
  const replaced = Object.entries(replace).filter((e): e is [string, string] => e[1] !== undefined);
  return [...kept, ...replaced, ...append];
}

interface Case {
  form?: [string, string][];
  subject?: Record<string, unknown>;
  actor?: Record<string, unknown>;
  link?: LinkRecord | undefined;
  settings?: AuthzSettings;
  policy?: Partial<ExchangePolicy>;
  now?: number;
}

/** Run every rule in the handler's order. */
function exchange(c: Case = {}): ExchangeGrant {
  const policy = { ...POLICY, ...c.policy };
  const request = parseExchangeRequest(c.form ?? BASE_FORM);
  checkTarget(request, policy);
  const actor = actorOf(c.actor ?? machine(), CLIENTS, policy);
  const subject = subjectOf(c.subject ?? user(), CLIENTS, policy);
  const link = 'link' in c ? c.link : LINKS.alice;
  return decideExchange({ request, subject, actor, link, settings: c.settings ?? DEFAULT_SETTINGS, policy, now: c.now ?? NOW, jti: 'jti-1' });
}

/** 'issued' or the OAuth error code. */
function outcome(c: Case): string {
  try {
    exchange(c);
    return 'issued';
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
}

describe('request shape (RFC 6749 §3.2, RFC 8693 §2.1)', () => {
  const cases: [string, [string, string][], string][] = [
    ['a complete request', BASE_FORM, 'issued'],
    ['no grant_type', formWith({ grant_type: undefined }), 'invalid_request'],
    ['grant_type=client_credentials', formWith({ grant_type: 'client_credentials' }), 'unsupported_grant_type'],
    ['grant_type=jwt-bearer', formWith({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }), 'unsupported_grant_type'],
    ['grant_type sent twice', formWith({}, [['grant_type', GRANT_TYPE_TOKEN_EXCHANGE]]), 'invalid_request'],
    ['subject_token sent twice', formWith({}, [['subject_token', 'other.jwt']]), 'invalid_request'],
    ['actor_token sent twice', formWith({}, [['actor_token', 'other.jwt']]), 'invalid_request'],
    ['scope sent twice', formWith({}, [['scope', 'patient/*.rs'], ['scope', 'patient/*.rs']]), 'invalid_request'],
    ['patient sent twice', formWith({}, [['patient', 'pat-alice'], ['patient', 'pat-alice']]), 'invalid_request'],
    ['no subject_token', formWith({ subject_token: undefined }), 'invalid_request'],
    ['empty subject_token (RFC 6749 §3.1: as if omitted)', formWith({ subject_token: '' }), 'invalid_request'],
    ['no subject_token_type', formWith({ subject_token_type: undefined }), 'invalid_request'],
    ['subject_token_type=id_token', formWith({ subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), 'invalid_request'],
    ['subject_token_type=jwt', formWith({ subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }), 'invalid_request'],
    ['no actor_token (fhirgate only delegates)', formWith({ actor_token: undefined }), 'invalid_request'],
    ['no actor_token_type', formWith({ actor_token_type: undefined }), 'invalid_request'],
    ['actor_token_type=refresh_token', formWith({ actor_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request'],
    ['requested_token_type=access_token', formWith({}, [['requested_token_type', TOKEN_TYPE_ACCESS_TOKEN]]), 'issued'],
    ['requested_token_type=refresh_token', formWith({}, [['requested_token_type', 'urn:ietf:params:oauth:token-type:refresh_token']]), 'invalid_request'],
    ['patient=../x (not a FHIR id)', formWith({}, [['patient', '../x']]), 'invalid_request'],
    ['empty scope= (as if omitted)', formWith({}, [['scope', '']]), 'issued'],
    ['an unknown parameter is ignored (RFC 6749 §3.2)', formWith({}, [['client_id', 'whatever']]), 'issued'],
  ];
  test.each(cases)('%s → %s', (_name, form, expected) => {
    expect(outcome({ form })).toBe(expected);
  });
});

describe('resource / audience (RFC 8693 §2.2.2 invalid_target)', () => {
  const cases: [string, [string, string][], string][] = [
    ['resource = the FHIR base', [['resource', FHIR]], 'issued'],
    ['resource with a trailing slash', [['resource', `${FHIR}/`]], 'issued'],
    ['audience = the FHIR base', [['audience', FHIR]], 'issued'],
    ['resource twice, both ours (repeats allowed for these two)', [['resource', FHIR], ['resource', FHIR]], 'issued'],
    ['resource of another API', [['resource', 'https://other.example.test/fhir']], 'invalid_target'],
    ['resource a prefix of ours', [['resource', 'https://api.example.test/prod']], 'invalid_target'],
    ['resource ours, audience another', [['resource', FHIR], ['audience', 'payments-api']], 'invalid_target'],
    ['audience another', [['audience', 'https://api.example.test/prod/fhir/Patient']], 'invalid_target'],
  ];
  test.each(cases)('%s → %s', (_name, append, expected) => {
    expect(outcome({ form: formWith({}, append) })).toBe(expected);
  });
});

describe('actor and subject tokens', () => {
  const cases: [string, Case, string][] = [
    ['ID token as subject', { subject: { ...user({ token_use: 'id', aud: 'web' }), client_id: undefined } }, 'invalid_grant'],
    ['ID token shape with client_id as subject', { subject: user({ token_use: 'id' }) }, 'invalid_grant'],
    ['machine token as subject', { subject: machine() }, 'invalid_grant'],
    ['exchanged token as subject (chaining)', { subject: exchanged() }, 'invalid_grant'],
    ['a token with act from Cognito as subject', { subject: user({ act: { sub: 'api-server' } }) }, 'invalid_grant'],
    ['subject from an unknown client', { subject: user({ client_id: 'evil-web' }) }, 'invalid_grant'],
    ['subject carrying system/ scopes', { subject: user({ scope: 'system/*.rs' }) }, 'invalid_grant'],
    ['subject without exp', { subject: user({ exp: undefined }) }, 'invalid_grant'],
    ['user token as actor', { actor: user() }, 'invalid_request'],
    ['user token with the delegation scope as actor', { actor: user({ scope: 'fhirgate/delegate' }) }, 'invalid_request'],
    ['ID token as actor', { actor: machine({ token_use: 'id' }) }, 'invalid_request'],
    ['exchanged token as actor (chaining)', { actor: exchanged() }, 'invalid_request'],
    ['exchanged token as actor, even with another iss', { actor: exchanged({ iss: COGNITO, sub: 'api-server' }) }, 'invalid_request'],
    ['actor from a machine client not on the allow-list', { actor: machine({ sub: 'stranger', client_id: 'stranger' }) }, 'invalid_request'],
    ['actor without the delegation scope', { actor: machine({ scope: 'system/*.rs' }) }, 'unauthorized_client'],
    ['actor with no scope at all', { actor: machine({ scope: undefined }) }, 'unauthorized_client'],
    ['actor with a scope that merely starts like it', { actor: machine({ scope: 'fhirgate/delegate-all' }) }, 'unauthorized_client'],
    ['actor with the delegation scope among others', { actor: machine({ scope: 'system/Patient.r fhirgate/delegate' }) }, 'issued'],
    ['another allowed machine client that may delegate', { actor: machine({ sub: 'other-machine', client_id: 'other-machine' }) }, 'issued'],
    ['actor with a custom delegation scope', { actor: machine({ scope: 'api/act-for-user' }), policy: { delegationScope: 'api/act-for-user' } }, 'issued'],
    ['unlinked user', { link: undefined }, 'invalid_grant'],
    ['user disabled by an operator (link marked)', { link: { ...LINKS.alice!, disabledAt: '2026-01-02T03:04:05.000Z' } }, 'invalid_grant'],
    ['link role not confirmed by cognito:groups', { subject: user({ 'cognito:groups': ['practitioner'] }) }, 'invalid_grant'],
    ['malformed link (a patient holding others)', { link: LINKS.badPatient }, 'invalid_grant'],
  ];
  test.each(cases)('%s → %s', (_name, c, expected) => {
    expect(outcome(c)).toBe(expected);
  });

  test('the actor is judged first: a bad actor hides whether the subject is good', () => {
    expect(outcome({ actor: machine({ scope: 'system/*.rs' }), subject: machine() })).toBe('unauthorized_client');
  });
});

describe('patient selection', () => {
  const cases: [string, LinkRecord, string | undefined, string][] = [
    ['a patient, no choice → their own', LINKS.alice!, undefined, 'pat-alice'],
    ['a patient choosing themselves', LINKS.alice!, 'pat-alice', 'pat-alice'],
    ['a patient choosing someone else', LINKS.alice!, 'pat-bob', 'invalid_scope'],
    ['a guardian of two, no choice', LINKS.dana!, undefined, 'invalid_request'],
    ['a guardian of two choosing one', LINKS.dana!, 'pat-dave', 'pat-dave'],
    ['a guardian choosing a patient not theirs', LINKS.dana!, 'pat-alice', 'invalid_scope'],
    ['a guardian of one, no choice → that one', LINKS.ed!, undefined, 'pat-erin'],
    ['a guardian who is a patient too, no choice → their own', LINKS.gina!, undefined, 'pat-gina'],
    ['the same guardian choosing the child', LINKS.gina!, 'pat-kid', 'pat-kid'],
    ['a guardian linked to nobody', LINKS.lonely!, undefined, 'invalid_scope'],
  ];
  test.each(cases)('%s → %s', (_name, link, patient, expected) => {
    const form = patient === undefined ? BASE_FORM : formWith({}, [['patient', patient]]);
    let got: string;
    try {
      got = exchange({ link, form }).claims.patient;
    } catch (err) {
      got = (err as OAuthError).code;
    }
    expect(got).toBe(expected);
  });
});

describe('scope = requested ∩ user effective (patient/ only) ∩ actor delegable', () => {
  // Practitioners whose role also carries patient/ scopes: the user/ ones must not pass.
  const mixedPractitioner: AuthzSettings = {
    ...DEFAULT_SETTINGS,
    roles: { ...DEFAULT_SETTINGS.roles, practitioner: { defaultScopes: ['user/*.rs', 'patient/Observation.rs'], ceilingScopes: ['user/*.cruds', 'patient/*.cruds'], group: 'practitioner' } },
  };
  const cases: [string, Case & { scope?: string }, string][] = [
    ['nothing requested → all the user may delegate', {}, 'patient/*.rs'],
    ['narrower type', { scope: 'patient/Observation.rs' }, 'patient/Observation.rs'],
    ['narrower permission', { scope: 'patient/Observation.r' }, 'patient/Observation.r'],
    ['SMART v1 spelling, issued in v2 text', { scope: 'patient/Observation.read' }, 'patient/Observation.rs'],
    ['two types', { scope: 'patient/Observation.rs patient/Condition.r' }, 'patient/Observation.rs patient/Condition.r'],
    ['a scope and one it covers → just the wider one', { scope: 'patient/*.rs patient/Observation.r' }, 'patient/*.rs'],
    ['constrained', { scope: 'patient/Observation.rs?category=laboratory' }, 'patient/Observation.rs?category=laboratory'],
    ['wider permissions than delegable (never widened)', { scope: 'patient/*.cruds' }, 'invalid_scope'],
    ['a write the actor may not be delegated', { scope: 'patient/Observation.c' }, 'invalid_scope'],
    ['one good, one too wide → refused whole', { scope: 'patient/Observation.rs patient/Condition.u' }, 'invalid_scope'],
    ['user/ requested', { scope: 'user/*.rs' }, 'invalid_scope'],
    ['system/ requested', { scope: 'system/*.rs' }, 'invalid_scope'],
    ['openid requested', { scope: 'openid patient/*.rs' }, 'invalid_scope'],
    ['the delegation scope requested', { scope: 'fhirgate/delegate' }, 'invalid_scope'],
    ['malformed scope', { scope: 'patient/Observation.sr' }, 'invalid_scope'],
    ['user token narrowed to Observation.r: the user limit holds', { subject: user({ scope: 'patient/Observation.r' }) }, 'patient/Observation.r'],
    ['user token narrowed, asking for more than the user holds', { subject: user({ scope: 'patient/Observation.r' }), scope: 'patient/Observation.rs' }, 'invalid_scope'],
    ['actor may be delegated writes, user only reads → reads', { policy: { delegableScopes: ['patient/*.cruds'] } }, 'patient/*.rs'],
    ['user may write, actor only reads → reads', { subject: user({ scope: 'patient/*.cruds' }) }, 'patient/*.rs'],
    ['delegable constrained → constrained', { policy: { delegableScopes: ['patient/Observation.rs?category=laboratory'] } }, 'patient/Observation.rs?category=laboratory'],
    ['asking unconstrained when only a constrained grant exists', { policy: { delegableScopes: ['patient/Observation.rs?category=laboratory'] }, scope: 'patient/Observation.rs' }, 'invalid_scope'],
    ['per-letter cover from two grants', { policy: { delegableScopes: ['patient/Observation.r', 'patient/Observation.s'] }, scope: 'patient/Observation.rs' }, 'patient/Observation.rs'],
    ['practitioner: user/ scopes only → nothing to delegate', { link: LINKS.doc }, 'invalid_scope'],
    ['practitioner with patient/ and user/ scopes → user/ dropped', { link: LINKS.doc, settings: mixedPractitioner, subject: user({ 'cognito:groups': ['practitioner'] }) }, 'patient/Observation.rs'],
  ];
  test.each(cases)('%s → %s', (_name, { scope, ...c }, expected) => {
    const form = scope === undefined ? c.form : formWith({}, [['scope', scope]]);
    let got: string;
    try {
      got = exchange({ ...c, form }).claims.scope;
    } catch (err) {
      got = (err as OAuthError).code;
    }
    expect(got).toBe(expected);
  });

  test('property: the issued scope never grants a type/permission that the user or the actor lacks', () => {
    const pool = ['patient/*.rs', 'patient/*.cruds', 'patient/Observation.r', 'patient/Observation.rs', 'patient/Observation.cu', 'patient/Condition.rs', 'patient/Observation.rs?category=laboratory', 'patient/Patient.r'];
    const subset = fc.subarray(pool, { minLength: 1 });
    fc.assert(
      fc.property(subset, subset, fc.option(subset, { nil: undefined }), (userScopes, delegable, requested) => {
        let grant: ExchangeGrant;
        try {
          grant = exchange({
            subject: user({ scope: userScopes.join(' ') }),
            policy: { delegableScopes: delegable },
            form: requested ? formWith({}, [['scope', requested.join(' ')]]) : BASE_FORM,
          });
        } catch (err) {
          expect(err).toBeInstanceOf(OAuthError);
          return;
        }
        const issued = parseScopeString(grant.claims.scope).resource;
        const limits = [userScopes, delegable, ...(requested ? [requested] : [])].map((l) => parseScopeString(l.join(' ')).resource);
        for (const type of ['Observation', 'Condition', 'Patient', 'Encounter', '*']) {
          for (const p of PERMISSIONS) {
            const got = grantFor(issued, type, p);
            if (got.kind === 'none') continue;
            for (const limit of limits) {
              const allowed = grantFor(limit, type, p);
              expect(allowed.kind).not.toBe('none');
              if (got.kind === 'all') expect(allowed.kind).toBe('all');
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('lifetime: exp = min(now + lifetime, subject exp, actor exp)', () => {
  const cases: [string, Case, number | string][] = [
    ['long-lived subject → now + 300', {}, 300],
    ['configured lifetime 120', { policy: { lifetimeSeconds: 120 } }, 120],
    ['subject expires in 60 s → 60', { subject: user({ exp: NOW + 60 }) }, 60],
    ['subject expires in 1 s → 1', { subject: user({ exp: NOW + 1 }) }, 1],
    ['actor expires in 30 s → 30', { actor: machine({ exp: NOW + 30 }) }, 30],
    ['subject expired now', { subject: user({ exp: NOW }) }, 'invalid_grant'],
    ['subject expired a minute ago', { subject: user({ exp: NOW - 60 }) }, 'invalid_grant'],
    ['actor expired', { actor: machine({ exp: NOW - 1 }) }, 'invalid_request'],
  ];
  test.each(cases)('%s → %s', (_name, c, expected) => {
    let got: number | string;
    try {
      const grant = exchange(c);
      expect(grant.claims.exp - grant.claims.iat).toBe(grant.expiresIn);
      got = grant.expiresIn;
    } catch (err) {
      got = (err as OAuthError).code;
    }
    expect(got).toBe(expected);
  });

  test.each([0, 301, 3600, 1.5, Number.NaN])('a configured lifetime of %s is refused', (lifetimeSeconds) => {
    expect(() => checkExchangePolicy({ ...POLICY, lifetimeSeconds })).toThrow(TypeError);
  });
  test.each([[['user/*.rs']], [['system/*.rs']], [['patient/Observation.sr']], [['openid']]])('delegable scopes %j are refused', (delegableScopes) => {
    expect(() => checkExchangePolicy({ ...POLICY, delegableScopes })).toThrow(TypeError);
  });
});

describe('the issued claims', () => {
  test('RFC 9068 + RFC 8693 §4.1 act + SMART patient/fhirUser', () => {
    const grant = exchange({ form: formWith({}, [['scope', 'patient/Observation.rs']]) });
    expect(grant.claims).toEqual({
      iss: POLICY.issuer,
      sub: 'u-alice',
      aud: FHIR,
      client_id: 'api-server',
      act: { sub: 'api-server' },
      scope: 'patient/Observation.rs',
      patient: 'pat-alice',
      fhirUser: 'Patient/pat-alice',
      jti: 'jti-1',
      iat: NOW,
      exp: NOW + 300,
    });
  });

  test('errors carry an RFC 6749 §5.2 body and status 400', () => {
    try {
      exchange({ actor: machine({ scope: '' }) });
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(OAuthError);
      expect((err as OAuthError).status).toBe(400);
      expect((err as OAuthError).toJSON()).toEqual({ error: 'unauthorized_client', error_description: expect.stringContaining('fhirgate/delegate') });
    }
  });
});
