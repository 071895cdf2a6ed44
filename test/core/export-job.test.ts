/**
 * Export jobs after kick-off (functions/core/export-job.ts): the handle binds a job to the client
 * that started it; the manifest lists only files the caller may have; every file is filtered
 * line by line with the same check as a read.
 */
import { createHmacPageSigner } from '../../functions/fhir-proxy/page-signer';
import { clientManifest, ExportJob, filterNdjson, isBackendJobPath, openJob, parseBackendManifest, parseFileRef, sealJob } from '../../functions/core/export-job';
import type { Principal } from '../../functions/core/principal';
import { parseScopeString } from '../../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';

const signer = createHmacPageSigner(Buffer.alloc(32, 7));
const system = (clientId: string, scope: string): Principal => ({ kind: 'system', sub: clientId, clientId, patients: [], scopes: parseScopeString(scope).resource });
const OWNER = system('client-a', 'system/*.rs');
const NOW = 1_800_000_000;
const JOB: ExportJob = { backendPath: 'export/0123', level: 'system', types: ['Observation', 'Patient'], request: '$export?_type=Observation,Patient', issuedAt: NOW };
const DAY = 86_400;

describe('job handles', () => {
  test('the owner opens its handle and gets the job back', async () => {
    const handle = await sealJob(signer, OWNER, JOB);
    expect(await openJob(signer, OWNER, handle, NOW + 10, DAY)).toEqual(JOB);
  });

  test.each<[string, Principal]>([
    ['another client with broader scopes', system('client-b', 'system/*.cruds')],
    ['the same client id as a patient token', { kind: 'patient', sub: 'client-a', clientId: 'client-a', patients: ['p'], scopes: [] }],
    ['the same client acting for a user (delegated)', { kind: 'delegated', sub: 'user-1', clientId: 'client-a', actor: 'client-a', patients: ['p'], scopes: [] }],
  ])('%s cannot open it', async (_name, other) => {
    const handle = await sealJob(signer, OWNER, JOB);
    expect(await openJob(signer, other, handle, NOW, DAY)).toBeUndefined();
  });

  test('a changed payload (another backend job, wider types) fails the MAC', async () => {
    const handle = await sealJob(signer, OWNER, JOB);
    const [, mac] = handle.split('.');
    const forged = Buffer.from(JSON.stringify({ p: 'export/9999', l: 'system', t: null, r: '$export', i: NOW })).toString('base64url');
    expect(await openJob(signer, OWNER, `${forged}.${mac}`, NOW, DAY)).toBeUndefined();
  });

  test('expired after maxAge, and not valid from the future', async () => {
    const handle = await sealJob(signer, OWNER, JOB);
    expect(await openJob(signer, OWNER, handle, NOW + DAY, DAY)).toEqual(JOB);
    expect(await openJob(signer, OWNER, handle, NOW + DAY + 1, DAY)).toBeUndefined();
    expect(await openJob(signer, OWNER, handle, NOW - 3600, DAY)).toBeUndefined();
  });

  test.each(['', 'abc', 'a.b', '!!!!!!!!.????????????????', 'x'.repeat(5000)])('malformed handle %p → undefined', async (text) => {
    expect(await openJob(signer, OWNER, text, NOW, DAY)).toBeUndefined();
  });

  test('two handles for the same job description are equal only for the same caller', async () => {
    expect(await sealJob(signer, OWNER, JOB)).toBe(await sealJob(signer, OWNER, JOB));
    expect(await sealJob(signer, OWNER, JOB)).not.toBe(await sealJob(signer, system('client-b', 'system/*.rs'), JOB));
  });
});

test.each<[string, boolean]>([
  ['export/0123', true],
  ['$export-poll-status?_jobId=abc', true],
  ['export/../Patient', false],
  ['https://evil.example/export/1', false],
  ['//evil.example/x', false], // scheme-relative: another host
  ['export/', false],
  ['export/1 2', false],
])('backend job path %p acceptable: %s', (path, ok) => {
  expect(isBackendJobPath(path)).toBe(ok);
});

describe('manifest', () => {
  const backend = parseBackendManifest({
    transactionTime: '2026-01-01T00:00:00Z',
    request: 'http://backend/$export',
    requiresAccessToken: true,
    output: [
      { type: 'Observation', url: 'http://backend/export/1/Observation-1.ndjson' },
      { type: 'Patient', url: 'http://backend/export/1/Patient-1.ndjson' },
      { type: 'Condition', url: 'http://backend/export/1/Condition-1.ndjson' }, // not planned
    ],
    error: [{ type: 'OperationOutcome', url: 'http://backend/export/1/err.ndjson' }],
  })!;
  const urls = { request: 'https://api/fhir/$export', file: (ref: { list: string; index: number }) => `https://api/fhir/$export-file?_file=${ref.list[0]}${ref.index}` };

  test('lists planned types the caller still holds, at fhirgate URLs, never backend URLs', () => {
    const m = clientManifest(backend, JOB, OWNER, urls);
    expect(m).toEqual({
      transactionTime: '2026-01-01T00:00:00Z',
      request: 'https://api/fhir/$export',
      requiresAccessToken: true,
      output: [
        { type: 'Observation', url: 'https://api/fhir/$export-file?_file=o0' },
        { type: 'Patient', url: 'https://api/fhir/$export-file?_file=o1' },
      ],
      error: [{ type: 'OperationOutcome', url: 'https://api/fhir/$export-file?_file=e0' }],
    });
    expect(JSON.stringify(m)).not.toContain('http://backend');
  });

  test('scopes narrowed since kick-off: the dropped type is no longer listed', () => {
    const now = system('client-a', 'system/Observation.rs');
    expect((clientManifest(backend, JOB, now, urls).output as { type: string }[]).map((o) => o.type)).toEqual(['Observation']);
  });

  test('a body that is not a manifest is refused', () => {
    expect(parseBackendManifest({ output: [] })).toBeUndefined();
    expect(parseBackendManifest({ transactionTime: 't', output: [{ type: 'X' }] })).toBeUndefined();
    expect(parseBackendManifest({ transactionTime: 't', output: 'x' })).toBeUndefined();
  });

  test.each<[string, unknown]>([['o0', { list: 'output', index: 0 }], ['e12', { list: 'error', index: 12 }], ['x1', undefined], ['o', undefined], ['o-1', undefined], ['o1.5', undefined]])('file ref %p', (text, ref) => {
    expect(parseFileRef(text)).toEqual(ref);
  });
});

describe('file filter', () => {
  const ctx = (p: Principal) => ({ principal: p, settings: DEFAULT_SETTINGS, ownBaseUrls: [] });
  const obs = (id: string, category: string) => ({ resourceType: 'Observation', id, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }], status: 'final', code: { text: 'x' } });
  const ndjson = (...rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

  test('lines of another type, unparsable lines and non-resources are dropped', () => {
    const text = ndjson(obs('o1', 'laboratory'), { resourceType: 'Patient', id: 'p1' }, '{not json', 42, obs('o2', 'vital-signs'));
    const out = filterNdjson(ctx(OWNER), text, 'Observation');
    expect(out.kept).toBe(2);
    expect(out.removed).toBe(3);
    expect(out.text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id)).toEqual(['o1', 'o2']);
  });

  test('a constrained scope (system/Observation.rs?category=laboratory) keeps only matching lines', () => {
    const lab = system('client-a', 'system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    const out = filterNdjson(ctx(lab), ndjson(obs('o1', 'laboratory'), obs('o2', 'vital-signs')), 'Observation');
    expect(out.text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id)).toEqual(['o1']);
  });

  test('error files keep OperationOutcomes only', () => {
    const out = filterNdjson(ctx(OWNER), ndjson({ resourceType: 'OperationOutcome', issue: [] }, { resourceType: 'Patient', id: 'p1' }), 'OperationOutcome');
    expect(out).toMatchObject({ kept: 1, removed: 1 });
  });

  test('an empty file stays empty', () => {
    expect(filterNdjson(ctx(OWNER), '', 'Observation')).toEqual({ text: '', kept: 0, removed: 0 });
  });
});
