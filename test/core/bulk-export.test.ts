/**
 * Contract suite for the `$export` kick-off rules (functions/core/bulk-export.ts): who may export,
 * which types (`_type` ∩ scopes with r and s), which parameters. Each case names its request.
 */
import { exportLevelOf, exportTypes, prefersAsync } from '../../functions/core/bulk-export';
import { plan as planRequest } from '../../functions/core/plan';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { AccessDeniedError, RequestError } from '../../functions/core/errors';
import { parseFhirRequest } from '../../functions/core/fhir-request';
import type { Principal, PrincipalKind } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';

function principal(kind: PrincipalKind, scope: string, clientId = 'client-a'): Principal {
  const patients = kind === 'system' ? [] : ['pat-1'];
  return { kind, sub: kind === 'system' ? clientId : 'user-1', clientId, patients, scopes: parseScopeString(scope).resource, ...(kind === 'delegated' ? { actor: clientId } : {}) } as Principal;
}

/** Parse `GET <url>` (or POST with a body) as the proxy does. */
function request(url: string, init: { method?: string; body?: unknown; prefer?: string | null } = {}) {
  const [path, query = ''] = url.split('?');
  const headers: Record<string, string> = {};
  if (init.prefer !== null) headers.prefer = init.prefer ?? 'respond-async';
  if (init.body !== undefined) headers['content-type'] = 'application/fhir+json';
  const req = parseFhirRequest({ method: init.method ?? 'GET', path: path!, query: [...new URLSearchParams(query)], headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { req };
}

/** The kick-off plan the one planner (plan.ts) makes for this request. */
const plan = (p: Principal, url: string, init?: Parameters<typeof request>[1]) => {
  const { req } = request(url, init);
  const planned = planRequest(p, DEFAULT_SETTINGS, req);
  if (planned.kind !== 'export' || planned.step !== 'kick-off') throw new Error(`not a kick-off plan: ${planned.kind}`);
  return planned.export;
};

const SYSTEM_ALL = principal('system', 'system/*.rs');
const ANALYTICS = principal('system', 'system/Observation.rs');

describe('who may export', () => {
  test.each<[PrincipalKind, string]>([
    ['patient', 'patient/*.rs'],
    ['practitioner', 'user/*.rs'],
    ['guardian', 'patient/*.rs'],
    ['delegated', 'patient/*.rs'],
  ])('%s token → 403 naming the reason', (kind, scope) => {
    expect(() => plan(principal(kind, scope), '/$export')).toThrow(AccessDeniedError);
    expect(() => plan(principal(kind, scope), '/$export')).toThrow(/backend services clients with system\/ scopes/);
  });

  test('system client → allowed', () => {
    expect(plan(SYSTEM_ALL, '/$export')).toEqual({ level: 'system', typeFilters: [] });
  });
});

describe('which types: _type ∩ scopes with r and s', () => {
  test.each<[string, string, readonly string[] | undefined]>([
    // [scopes, _type, exported types]
    ['system/*.rs', '', undefined], // everything
    ['system/*.rs', 'Patient,Observation', ['Observation', 'Patient']],
    ['system/Observation.rs', '', ['Observation']], // GET /$export → Observations only
    ['system/Observation.rs system/Patient.rs', '', ['Observation', 'Patient']],
    ['system/Observation.rs system/Patient.r', '', ['Observation']], // read without search: not exported
    ['system/Observation.rs?category=laboratory', '', ['Observation']], // constrained: exported, filtered per line
  ])('%s with _type=%s → %p', (scope, type, expected) => {
    expect(exportTypes(principal('system', scope), type ? type.split(',') : [])).toEqual(expected);
  });

  test.each<[string, string, RegExp]>([
    ['system/Observation.rs', 'Observation,Patient', /on Patient/], // GET /$export?_type=Observation,Patient
    ['system/Observation.r', 'Observation', /on Observation/], // r without s
    ['system/Patient.rs', 'Condition', /on Condition/],
  ])('%s asking _type=%s → 403 naming the type', (scope, type, message) => {
    const p = principal('system', scope);
    expect(() => exportTypes(p, type.split(','))).toThrow(AccessDeniedError);
    expect(() => exportTypes(p, type.split(','))).toThrow(message);
  });

  test('no type with both r and s → 403', () => {
    expect(() => exportTypes(principal('system', 'system/Patient.r system/Observation.s'), [])).toThrow(/nothing to export/);
  });

  test('a _type that is not a type name → 400', () => {
    expect(() => exportTypes(SYSTEM_ALL, ['observation'])).toThrow(RequestError);
  });
});

describe('kick-off request', () => {
  test('levels: [base], Patient, Group/{id}; nothing else', () => {
    expect(exportLevelOf({})).toEqual({ level: 'system' });
    expect(exportLevelOf({ resourceType: 'Patient' })).toEqual({ level: 'patient' });
    expect(exportLevelOf({ resourceType: 'Group', id: 'g1' })).toEqual({ level: 'group', groupId: 'g1' });
    expect(() => plan(SYSTEM_ALL, '/Observation/$export')).toThrow(/\[base\], Patient and Group/);
    expect(() => plan(SYSTEM_ALL, '/Patient/p1/$export')).toThrow(RequestError);
  });

  test.each<[string | null, boolean]>([
    ['respond-async', true],
    ['handling=strict, respond-async', true],
    ['respond-async; wait=10', true],
    ['RESPOND-ASYNC', true],
    ['return=minimal', false],
    ['respond-asynchronously', false],
    [null, false],
  ])('Prefer: %s → async %s', (prefer, expected) => {
    expect(prefersAsync(prefer ?? undefined)).toBe(expected);
    if (!expected) expect(() => plan(SYSTEM_ALL, '/$export', { prefer })).toThrow(/Prefer: respond-async/);
  });

  test.each([
    '/$export?_outputFormat=application/fhir%2Bndjson',
    '/$export?_outputFormat=application/fhir+ndjson', // '+' decoded as a space
    '/$export?_outputFormat=application/ndjson',
    '/$export?_outputFormat=ndjson',
    '/$export?_since=2024-01-01T00:00:00Z',
    '/$export?_since=2024-01-01T00:00:00.123%2B02:00',
    '/$export?_type=Observation&_typeFilter=Observation%3Fcategory%3Dlaboratory',
  ])('accepted: GET %s', (url) => {
    expect(() => plan(SYSTEM_ALL, url)).not.toThrow();
  });

  test.each<[string, RegExp]>([
    ['/$export?_outputFormat=text/csv', /_outputFormat/],
    ['/$export?_since=yesterday', /not a FHIR instant/],
    ['/$export?_since=2024-01-01', /not a FHIR instant/], // a date, not an instant
    ['/$export?_since=2024-01-01T00:00:00Z&_since=2024-02-01T00:00:00Z', /once/],
    ['/$export?_elements=id', /not supported/],
    ['/$export?patient=Patient/1', /not supported/],
    ['/$export?includeAssociatedData=LatestProvenanceResources', /not supported/],
    ['/$export?_count=10', /not a \$export parameter/],
    ['/$export?_typeFilter=Observation', /not \[type\]\?\[search criteria\]/],
    ['/$export?_type=Patient&_typeFilter=Observation%3Fcode%3D1', /not among the exported types/],
  ])('refused with 400: GET %s', (url, message) => {
    expect(() => plan(SYSTEM_ALL, url)).toThrow(RequestError);
    expect(() => plan(SYSTEM_ALL, url)).toThrow(message);
  });

  test('an uncovered type in _typeFilter of a narrow client → 400 (not exported), not a leak', () => {
    expect(() => plan(ANALYTICS, '/$export?_typeFilter=Patient%3Fname%3Dx')).toThrow(/not among the exported types/);
  });

  test('POST with a Parameters body means what GET with a query means', () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Observation' }, { name: '_since', valueInstant: '2024-01-01T00:00:00Z' }] };
    expect(plan(SYSTEM_ALL, '/Patient/$export', { method: 'POST', body })).toEqual(plan(SYSTEM_ALL, '/Patient/$export?_type=Observation&_since=2024-01-01T00:00:00Z'));
  });

  test.each<[string, unknown, RegExp]>([
    ['/$export?_type=Patient', { resourceType: 'Parameters' }, /not in the query string/],
    ['/$export', { resourceType: 'Bundle' }, /Parameters resource/], // read by plan.ts, as for every operation body
    ['/$export', { resourceType: 'Parameters', parameter: [{ name: '_type' }] }, /one primitive value/],
  ])('POST %s with a bad body → 400', (url, body, message) => {
    expect(() => plan(SYSTEM_ALL, url, { method: 'POST', body })).toThrow(message);
  });
});

describe('status and file URLs', () => {
  const parse = (method: string, path: string, query: [string, string][], headers: Record<string, string> = {}) => parseFhirRequest({ method, path, query, headers });
  const planOf = (method: string, path: string, query: [string, string][], headers?: Record<string, string>) => planRequest(SYSTEM_ALL, DEFAULT_SETTINGS, parse(method, path, query, headers));

  test('GET/DELETE on the status URL → status/cancel with the handle; a file → download', () => {
    expect(planOf('GET', '/$export-poll-status', [['_jobId', 'h']])).toEqual({ kind: 'export', step: 'status', handle: 'h' });
    expect(planOf('DELETE', '/$export-poll-status', [['_jobId', 'h']])).toEqual({ kind: 'export', step: 'cancel', handle: 'h' });
    expect(planOf('GET', '/$export-file', [['_jobId', 'h'], ['_file', 'o0']])).toEqual({ kind: 'export', step: 'download', handle: 'h', file: 'o0' });
  });

  test.each<[string, string, [string, string][]]>([
    ['GET', '/$export-poll-status', []],
    ['GET', '/$export-poll-status', [['_jobId', 'a'], ['_jobId', 'b']]],
    ['GET', '/$export-poll-status', [['_jobId', 'a'], ['_count', '1']]],
    ['GET', '/$export-file', [['_jobId', 'a']]],
  ])('%s %s %p → 400', (method, path, query) => {
    expect(() => planOf(method, path, query)).toThrow(RequestError);
  });

  test('a patient token gets 403 on the status URL too', () => {
    expect(() => planRequest(principal('patient', 'patient/*.rs'), DEFAULT_SETTINGS, parse('GET', '/$export-poll-status', [['_jobId', 'h']]))).toThrow(AccessDeniedError);
  });

  test('files accept Accept: application/fhir+ndjson; other URLs still answer JSON only (406)', () => {
    expect(() => parse('GET', '/$export-file', [['_jobId', 'h'], ['_file', 'o0']], { accept: 'application/fhir+ndjson' })).not.toThrow();
    expect(() => parse('GET', '/Patient', [], { accept: 'application/fhir+ndjson' })).toThrow(/allows no JSON/);
    expect(() => parse('POST', '/$export-poll-status', [['_jobId', 'h']])).toThrow(/not allowed/); // GET and DELETE only
  });
});
