/**
 * The planner (core/plan.ts with decision.ts and search-policy.ts): rows of principal × request ×
 * expected plan or refusal. Each row states its request. The planner is pure: no backend here.
 */
import { AccessDeniedError, FhirgateError } from '../../functions/core/errors';
import { HttpRequest, parseFhirRequest } from '../../functions/core/fhir-request';
import { pagingPathOf, plan, Plan } from '../../functions/core/plan';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { MAX_COUNT } from '../../functions/core/search-policy';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const who = (kind: Principal['kind'], scopes: string, patients: string[] = ['p1']): Principal => ({
  kind,
  sub: 'u',
  clientId: 'c',
  patients: kind === 'system' ? [] : patients,
  scopes: parseScopeString(scopes).resource,
  ...(kind === 'delegated' ? { actor: 'api-server' } : {}),
});
const PATIENT = who('patient', 'patient/*.cruds');
const GUARDIAN = who('guardian', 'patient/*.rs', ['p1', 'p2']);
const PRACTITIONER = who('practitioner', 'user/*.cruds', ['p1']);
const DELEGATED = who('delegated', 'patient/*.rs');
const SYSTEM_ALL = who('system', 'system/*.rs');
const SYSTEM_OBS = who('system', 'system/Observation.rs');

function request(method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}): HttpRequest {
  const url = new URL(`http://x${pathAndQuery}`);
  const contentType: Record<string, string> = body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json' };
  return { method, path: url.pathname, query: [...url.searchParams], headers: { ...contentType, ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
}

function planOf(p: Principal, method: string, pathAndQuery: string, body?: unknown): Plan {
  return plan(p, DEFAULT_SETTINGS, parseFhirRequest(request(method, pathAndQuery, body)));
}

function refusal(p: Principal, method: string, pathAndQuery: string, body?: unknown): FhirgateError {
  try {
    planOf(p, method, pathAndQuery, body);
  } catch (err) {
    if (err instanceof FhirgateError) return err;
    throw err;
  }
  throw new Error(`expected a refusal for ${method} ${pathAndQuery}`);
}

const query = (p: Plan) => (p.kind === 'bundle-read' ? p.params.map((q) => `${q.key}=${q.value}`) : []);

describe('searches are narrowed by an owning parameter, for every confined kind', () => {
  test.each([
    // GET Observation as a patient → subject (owning), never performer (a role)
    [PATIENT, '/Observation', 'subject=Patient/p1'],
    [GUARDIAN, '/Observation', 'subject=Patient/p1,Patient/p2'],
    [PRACTITIONER, '/Condition', 'patient=Patient/p1'],
    [DELEGATED, '/Encounter', 'patient=Patient/p1'],
    // GET Patient → _id
    [PATIENT, '/Patient', '_id=p1'],
    // GET AllergyIntolerance → patient, not recorder/asserter
    [PATIENT, '/AllergyIntolerance', 'patient=Patient/p1'],
  ])('%o GET %s → AND %s', (principal, path, narrowing) => {
    expect(query(planOf(principal, 'GET', path))).toContain(narrowing);
  });

  test('GET Practitioner (a shared type) → not narrowed', () => {
    expect(query(planOf(PATIENT, 'GET', '/Practitioner'))).toEqual([]);
  });

  test('a system principal is not narrowed', () => {
    expect(query(planOf(SYSTEM_ALL, 'GET', '/Observation?code=x'))).toEqual(['code=x']);
  });

  test('GET Patient/p9/Observation (compartment search) pins the patient and keeps the caller\'s narrowing', () => {
    const q = query(planOf(PATIENT, 'GET', '/Patient/p9/Observation'));
    expect(q).toEqual(expect.arrayContaining(['subject=Patient/p9', 'subject=Patient/p1']));
  });

  test('GET Patient/p1/Practitioner → 400 not-supported (not in the Patient compartment)', () => {
    expect(refusal(PATIENT, 'GET', '/Patient/p1/Practitioner')).toMatchObject({ code: 'ERR_UNSUPPORTED', status: 400 });
  });
});

describe('bounded work', () => {
  test(`_count above ${MAX_COUNT} is lowered to it, for system callers too`, () => {
    expect(query(planOf(SYSTEM_ALL, 'GET', '/Observation?_count=1000'))).toContain(`_count=${MAX_COUNT}`);
    expect(query(planOf(PATIENT, 'GET', '/Observation?_count=5000'))).toContain(`_count=${MAX_COUNT}`);
  });

  test.each([
    [SYSTEM_ALL, '/Observation?_include=*'],
    [SYSTEM_ALL, '/Observation?_revinclude=*'],
    [PATIENT, '/Observation?_include=*'],
    [PATIENT, '/Patient?_revinclude:iterate=Observation:subject'],
    [GUARDIAN, '/Patient?_include:iterate=Patient:organization'],
    [PATIENT, '/Medication?_revinclude=MedicationRequest:medication'],
    [PRACTITIONER, '/Practitioner?_revinclude=Observation:performer'],
  ])('%o GET %s → 403', (principal, path) => {
    expect(refusal(principal, 'GET', path)).toMatchObject({ status: 403 });
  });

  test('more than 5 include parameters → 400', () => {
    const includes = Array.from({ length: 6 }, (_, i) => `_include=Observation:subject${i ? `&_include=Observation:performer` : ''}`).join('&');
    expect(refusal(SYSTEM_ALL, 'GET', `/Observation?${includes}`)).toMatchObject({ status: 400 });
  });

  test('a system caller may :iterate, closed to a fixed point on return', () => {
    const p = planOf(SYSTEM_ALL, 'GET', '/Patient?_revinclude:iterate=Observation:subject');
    expect(p).toMatchObject({ kind: 'bundle-read', closure: 'fixed-point' });
    expect(planOf(PATIENT, 'GET', '/Patient?_revinclude=Observation:subject')).toMatchObject({ closure: 'one-hop' });
  });
});

describe('confined callers: parameters that test other patients\' records are refused', () => {
  test.each([
    '/Observation?subject:Patient.name=Alice',
    '/Observation?_has:Observation:patient:code=x',
    '/Patient?_has:Observation:subject:code=1234',
    '/Observation?_elements=code',
    '/Observation?_summary=text',
    '/Observation?_contained=true',
    '/Observation?_filter=x',
  ])('patient GET %s → 403', (path) => {
    expect(refusal(PATIENT, 'GET', path)).toBeInstanceOf(AccessDeniedError);
  });
});

describe('interactions a confined caller cannot use', () => {
  test.each([
    ['GET', '/_history'],
    ['GET', '/Observation/_history'],
    ['GET', '/?_type=Observation'],
  ])('patient %s %s → 403', (method, path) => {
    expect(refusal(PATIENT, method, path).status).toBe(403);
  });

  test('$everything for another patient → one not-found (ERR_OUT_OF_COMPARTMENT for the audit)', () => {
    const err = refusal(PATIENT, 'GET', '/Patient/p2/$everything');
    expect(err).toMatchObject({ status: 404, code: 'ERR_OUT_OF_COMPARTMENT' });
  });

  test('other operations → 403 naming the operation', () => {
    expect(refusal(PATIENT, 'GET', '/Patient/p1/$validate').message).toContain('$validate');
  });
});

describe('writes are planned with their target and confined criteria', () => {
  test('PUT Observation/o1 → update by id', () => {
    expect(planOf(PATIENT, 'PUT', '/Observation/o1', { resourceType: 'Observation', id: 'o1' })).toMatchObject({ kind: 'update', target: { id: 'o1' } });
  });

  test('DELETE Observation?code=x → criteria AND-ed with the compartment', () => {
    const p = planOf(PATIENT, 'DELETE', '/Observation?code=x');
    expect(p).toMatchObject({ kind: 'delete' });
    expect(p.kind === 'delete' && 'criteria' in p.target && p.target.criteria.map((q) => `${q.key}=${q.value}`)).toEqual(['code=x', 'subject=Patient/p1']);
  });

  test('a write without the scope letter → 403 before anything is read', () => {
    expect(refusal(DELEGATED, 'DELETE', '/Observation/o1')).toMatchObject({ code: 'ERR_SCOPE_INSUFFICIENT', status: 403 });
  });
});

describe('count-only requests from confined callers are counted over what they may see', () => {
  test('GET Observation?_summary=count → one full page, counted, entries dropped', () => {
    const p = planOf(PATIENT, 'GET', '/Observation?_summary=count');
    expect(p).toMatchObject({ kind: 'bundle-read', countOnly: true });
    expect(query(p)).toEqual(expect.arrayContaining([`_count=${MAX_COUNT}`, 'subject=Patient/p1']));
    expect(query(p).some((q) => q.startsWith('_summary'))).toBe(false);
  });

  test('GET Patient/p1/$everything?_count=0 → count-only', () => {
    expect(planOf(PATIENT, 'GET', '/Patient/p1/$everything?_count=0')).toMatchObject({ countOnly: true });
  });

  test('a system caller gets the backend\'s count', () => {
    expect(planOf(SYSTEM_ALL, 'GET', '/Observation?_summary=count')).toMatchObject({ countOnly: false });
  });
});

test('POST Patient/p1/$everything with a Parameters body → the same plan as GET', () => {
  const post = planOf(PATIENT, 'POST', '/Patient/p1/$everything', { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 5 }] });
  const get = planOf(PATIENT, 'GET', '/Patient/p1/$everything?_count=5');
  expect(post).toEqual(get);
});

test('paging paths: what a link is signed over', () => {
  const path = (p: string) => pagingPathOf(parseFhirRequest(request('GET', p)));
  expect(path('/Observation?x=1')).toBe('Observation');
  expect(path('/Observation/o1/_history')).toBe('Observation/o1/_history');
  expect(path('/Patient/p1/$everything')).toBe('Patient/p1/$everything');
  expect(path('/Observation/o1')).toBeUndefined();
});

test('a Bundle with more than 100 entries → 400', () => {
  const entry = Array.from({ length: 101 }, () => ({ request: { method: 'GET', url: 'Patient/p1' } }));
  expect(refusal(PATIENT, 'POST', '/', { resourceType: 'Bundle', type: 'batch', entry })).toMatchObject({ status: 400 });
});

test('system callers with narrow scopes: SYSTEM_OBS reads only Observation', () => {
  expect(refusal(SYSTEM_OBS, 'GET', '/Patient')).toMatchObject({ code: 'ERR_SCOPE_INSUFFICIENT' });
  expect(planOf(SYSTEM_OBS, 'GET', '/Observation')).toMatchObject({ kind: 'bundle-read' });
});
