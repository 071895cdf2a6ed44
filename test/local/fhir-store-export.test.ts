/**
 * The local store's `$export` (local/fhir-store/export.ts), which stands in for HealthLake's:
 * 202 + Content-Location at kick-off, 202 + X-Progress + Retry-After while running, the
 * manifest when done, DELETE cancels and removes the files, 429 + Retry-After past the quota.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFhirStoreServer, demoResources, FhirStoreServer } from '../../local/fhir-store';

let store: FhirStoreServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fhirgate-export-test-'));
  store = await createFhirStoreServer({ seed: demoResources(), exports: { dir, delayMs: 300, maxConcurrent: 2 } });
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const kickoff = (path: string, prefer = true) => fetch(`${store.baseUrl}/${path}`, { headers: prefer ? { prefer: 'respond-async' } : {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kick-off → 202 with a status URL under the base; running → 202 + X-Progress + Retry-After; done → manifest', async () => {
  const res = await kickoff('$export?_type=Patient');
  expect(res.status).toBe(202);
  const status = res.headers.get('content-location')!;
  expect(status).toMatch(new RegExp(`^${store.baseUrl}/export/[0-9a-f]{32}$`));
  const running = await fetch(status);
  expect(running.status).toBe(202);
  expect(running.headers.get('x-progress')).toMatch(/in progress/);
  expect(running.headers.get('retry-after')).toBe('1');
  await sleep(400);
  const done = await fetch(status);
  expect(done.status).toBe(200);
  const manifest: any = await done.json();
  expect(manifest.output).toEqual([{ type: 'Patient', url: `${status}/Patient-1.ndjson` }]);
  const file = await fetch(manifest.output[0].url);
  expect(file.headers.get('content-type')).toBe('application/fhir+ndjson');
  expect((await file.text()).trim().split('\n').every((l) => JSON.parse(l).resourceType === 'Patient')).toBe(true);
});

test('no Prefer: respond-async → 400; unknown _type → 400; missing Group → 404', async () => {
  expect((await kickoff('$export', false)).status).toBe(400);
  expect((await kickoff('$export?_type=Nonsense')).status).toBe(400);
  expect((await kickoff('Group/nope/$export')).status).toBe(404);
});

test('past the concurrent-job quota → 429 with Retry-After; DELETE cancels and removes the job', async () => {
  await sleep(400); // earlier jobs done
  const a = await kickoff('$export');
  const b = await kickoff('Patient/$export');
  expect([a.status, b.status]).toEqual([202, 202]);
  const c = await kickoff('$export');
  expect(c.status).toBe(429);
  expect(c.headers.get('retry-after')).toMatch(/^\d+$/);
  const statusA = a.headers.get('content-location')!;
  expect((await fetch(statusA, { method: 'DELETE' })).status).toBe(202);
  expect((await fetch(statusA)).status).toBe(404);
  expect((await kickoff('$export')).status).toBe(202); // a slot is free again
  await sleep(400);
  const jobA = statusA.split('/').pop()!;
  expect(await readdir(dir)).not.toContain(jobA); // its files are gone from disk
});
