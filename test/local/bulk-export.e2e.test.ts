/**
 * Bulk Data `$export` end to end over HTTP on the local stack: the private_key_jwt backend client
 * runs system, Patient and Group exports (kick-off → poll → manifest → every file) and the files
 * hold exactly what a search returns; the Observation-only analytics client gets Observations
 * only; patient, delegated and other clients are refused the job; cancel; Prefer is required.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { backendServicesToken, exchangeToken, machineToken, signIn, tokenOf } from '../../local/stack/clients';
import { spawnLocalStack, SpawnedStack } from '../../local/stack/spawn';

jest.setTimeout(120_000);

let stack: SpawnedStack;
let base: string;
let backend: string; // private_key_jwt client, system/*.rs
let analytics: string; // Cognito client_credentials, system/Observation.rs
let apiServer: string; // another system client, system/*.rs: broader than needed, still not the owner
beforeAll(async () => {
  stack = await spawnLocalStack();
  base = stack.info.fhirBaseUrl;
  [backend, analytics, apiServer] = await Promise.all([backendServicesToken(stack.info), machineToken(stack.info, 'analytics'), machineToken(stack.info, 'api-server')]);
  // An administrator's Group, written straight to the FHIR store (the demo clients are read-only).
  const group = { resourceType: 'Group', id: 'cohort-1', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/pat-alice' } }, { entity: { reference: 'Patient/pat-bob' } }] };
  const put = await fetch(`${stack.info.backendFhirBaseUrl}/Group/cohort-1`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(group) });
  expect(put.status).toBeLessThan(300);
});
afterAll(() => stack.stop());

const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function kickoff(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/${path}`, { ...init, headers: { ...auth(token, { prefer: 'respond-async' }), ...(init.headers as Record<string, string>) } });
}

/** Poll as the IG says (honouring Retry-After) until the manifest; returns it and whether a 202 was seen. */
async function poll(token: string, statusUrl: string): Promise<{ manifest: any; progress: string[] }> {
  const progress: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await fetch(statusUrl, { headers: auth(token) });
    if (res.status === 200) return { manifest: await res.json(), progress };
    expect(res.status).toBe(202);
    progress.push(res.headers.get('x-progress') ?? '');
    await sleep(Number(res.headers.get('retry-after')) * 1000);
  }
  throw new Error('export did not finish');
}

async function download(token: string, url: string): Promise<any[]> {
  const res = await fetch(url, { headers: auth(token, { accept: 'application/fhir+ndjson' }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/fhir+ndjson');
  return (await res.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

async function runExport(token: string, path: string): Promise<{ manifest: any; files: Map<string, any[]>; statusUrl: string }> {
  const res = await kickoff(token, path);
  expect(res.status).toBe(202);
  const statusUrl = res.headers.get('content-location')!;
  expect(statusUrl.startsWith(`${base}/$export-poll-status?_jobId=`)).toBe(true);
  const { manifest, progress } = await poll(token, statusUrl);
  expect(progress.length).toBeGreaterThan(0); // the store's delay made the client poll
  expect(progress[0]).toMatch(/in progress/);
  const files = new Map<string, any[]>();
  for (const out of manifest.output) files.set(out.type, [...(files.get(out.type) ?? []), ...(await download(token, out.url))]);
  return { manifest, files, statusUrl };
}

/** Every resource a search returns (all pages) through the gateway. */
async function searchAll(token: string, query: string): Promise<any[]> {
  const out: any[] = [];
  let url: string | undefined = `${base}/${query}${query.includes('?') ? '&' : '?'}_count=500`;
  while (url) {
    const res: Response = await fetch(url, { headers: auth(token) });
    expect(res.status).toBe(200);
    const bundle: any = await res.json();
    out.push(...(bundle.entry ?? []).filter((e: any) => e.search?.mode !== 'include').map((e: any) => e.resource));
    url = bundle.link?.find((l: any) => l.relation === 'next')?.url;
  }
  return out;
}

const byId = (list: any[]) => [...list].sort((a, b) => `${a.resourceType}/${a.id}`.localeCompare(`${b.resourceType}/${b.id}`));

test('system export by the private_key_jwt client: every file equals a search of its type', async () => {
  const { manifest, files } = await runExport(backend, '$export');
  expect(manifest).toMatchObject({ requiresAccessToken: true, request: `${base}/$export`, error: [] });
  expect(Date.parse(manifest.transactionTime)).not.toBeNaN();
  expect([...files.keys()]).toEqual(expect.arrayContaining(['Patient', 'Observation', 'Group']));
  for (const [type, resources] of files) {
    expect(resources.every((r) => r.resourceType === type)).toBe(true);
    expect(byId(resources)).toEqual(byId(await searchAll(backend, type)));
  }
});

test('Patient and Group exports: compartment data of all patients / of the group members only', async () => {
  const all = await runExport(backend, 'Patient/$export?_type=Patient,Observation');
  expect([...all.files.keys()].sort()).toEqual(['Observation', 'Patient']);
  expect(byId(all.files.get('Patient')!)).toEqual(byId(await searchAll(backend, 'Patient')));
  expect(byId(all.files.get('Observation')!)).toEqual(byId(await searchAll(backend, 'Observation')));

  const group = await runExport(backend, 'Group/cohort-1/$export?_type=Patient,Observation');
  expect(group.manifest.request).toBe(`${base}/Group/cohort-1/$export?_type=Patient,Observation`);
  expect(group.files.get('Patient')!.map((p) => p.id).sort()).toEqual(['pat-alice', 'pat-bob']);
  const members = await searchAll(backend, 'Observation?subject=Patient/pat-alice,Patient/pat-bob');
  expect(members.length).toBeGreaterThan(0);
  expect(byId(group.files.get('Observation')!)).toEqual(byId(members));
});

test('a POST kick-off with a Parameters body works like GET', async () => {
  const res = await kickoff(backend, '$export', {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Patient' }, { name: '_outputFormat', valueString: 'application/fhir+ndjson' }] }),
  });
  expect(res.status).toBe(202);
  const { manifest } = await poll(backend, res.headers.get('content-location')!);
  expect(manifest.output.map((o: any) => o.type)).toEqual(['Patient']);
});

test('the system/Observation.rs client exports Observations only; asking for Patient is a 403 naming it', async () => {
  const { manifest, files } = await runExport(analytics, '$export');
  expect(manifest.output.map((o: any) => o.type)).toEqual(['Observation']);
  expect([...files.keys()]).toEqual(['Observation']);
  expect(byId(files.get('Observation')!)).toEqual(byId(await searchAll(analytics, 'Observation')));

  const refused = await kickoff(analytics, '$export?_type=Observation,Patient');
  expect(refused.status).toBe(403);
  expect(JSON.stringify(await refused.json())).toContain('Patient');
});

test('status and files belong to the client that started the job: patient 403, delegated 403, other client 404 like a made-up id', async () => {
  const { manifest, statusUrl } = await runExport(backend, '$export?_type=Observation');
  const fileUrl: string = manifest.output[0].url;
  const alice = await signIn(stack.info, 'alice');
  const delegated = tokenOf('exchange', await exchangeToken(stack.info, alice, apiServer));
  for (const token of [alice, delegated]) {
    for (const url of [statusUrl, fileUrl]) {
      const res = await fetch(url, { headers: auth(token) });
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toMatch(/backend services clients with system\/ scopes/);
    }
    expect((await kickoff(token, 'Patient/$export')).status).toBe(403);
  }
  // Another system client with *broader* scopes than needed: 404, byte for byte a missing job.
  const made = `${base}/$export-poll-status?_jobId=${'A'.repeat(40)}.${'B'.repeat(43)}`;
  const missing = await fetch(made, { headers: auth(apiServer) });
  const missingBody = await missing.text();
  for (const url of [statusUrl, fileUrl, statusUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
    const res = await fetch(url, { headers: auth(apiServer) });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(missingBody);
    expect(res.headers.get('content-type')).toBe(missing.headers.get('content-type'));
  }
  // The owner still gets its file.
  expect((await download(backend, fileUrl)).length).toBeGreaterThan(0);
});

test('DELETE on the status URL cancels (202); the job is then gone (404)', async () => {
  const res = await kickoff(backend, '$export');
  const statusUrl = res.headers.get('content-location')!;
  const cancel = await fetch(statusUrl, { method: 'DELETE', headers: auth(backend) });
  expect(cancel.status).toBe(202);
  expect((await fetch(statusUrl, { headers: auth(backend) })).status).toBe(404);
});

test('kick-off without Prefer: respond-async is a 400 OperationOutcome; so is an unsupported _outputFormat', async () => {
  const res = await fetch(`${base}/$export`, { headers: auth(backend) });
  expect(res.status).toBe(400);
  const body: any = await res.json();
  expect(body.resourceType).toBe('OperationOutcome');
  expect(JSON.stringify(body)).toContain('respond-async');
  expect((await kickoff(backend, '$export?_outputFormat=text/csv')).status).toBe(400);
  expect((await kickoff(backend, '$export?_elements=id')).status).toBe(400);
});

test('one audit line per kick-off, status, cancel and download, with client, level, types and job', async () => {
  await sleep(200);
  const all = stack
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"fhir.access"'))
    .map((l) => JSON.parse(l));
  const lines = all.filter((l) => l.export !== undefined);
  const steps = new Set(lines.map((l) => l.export.step));
  expect([...steps].sort()).toEqual(['cancel', 'download', 'kick-off', 'status']);
  const download = lines.find((l) => l.export.step === 'download' && l.status === 200);
  // A kick-off refused by the planner is audited too: the operation and the refusal's code.
  expect(all.find((l) => l.operation === 'export' && l.status === 403 && l.kind === 'patient')).toMatchObject({ decision: 'deny', code: 'ERR_FORBIDDEN' });
  expect(download).toMatchObject({ client: expect.any(String), export: { level: expect.any(String), types: expect.any(Array), job: expect.stringMatching(/^export\//), type: expect.any(String) } });
});

/**
 * A Bulk Data client written from the IG alone (no fhirgate helper): discovers the token
 * endpoint and the export operation, authenticates with private_key_jwt (SMART Backend
 * Services, signed with jsonwebtoken), kicks off, polls honouring Retry-After, downloads with the token
 * because the manifest says requiresAccessToken.
 */
test('an IG-only Bulk Data client drives a system export from the discovery documents', async () => {
  const client = stack.info.backendClients[0]!;
  const fhirBase = base;

  const smart: any = await (await fetch(`${fhirBase}/.well-known/smart-configuration`)).json();
  expect(smart.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
  const capability: any = await (await fetch(`${fhirBase}/metadata`)).json();
  expect(capability.instantiates).toContain('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
  const ops = capability.rest[0].operation.map((o: any) => o.definition);
  expect(ops).toContain('http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export');

  // SMART Backend Services §Protocol details: iss = sub = client_id, aud = token URL, exp ≤ 5 min, jti.
  const assertion = jwt.sign({}, client.privateKeyPem, {
    algorithm: 'ES384',
    keyid: client.kid,
    issuer: client.clientId,
    subject: client.clientId,
    audience: smart.token_endpoint,
    expiresIn: 120,
    jwtid: randomUUID(),
  });
  const tokenRes = await fetch(smart.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
  });
  expect(tokenRes.status).toBe(200);
  const token = ((await tokenRes.json()) as any).access_token as string;

  const kick = await fetch(`${fhirBase}/$export?_outputFormat=${encodeURIComponent('application/fhir+ndjson')}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' },
  });
  expect(kick.status).toBe(202);
  let status = await fetch(kick.headers.get('content-location')!, { headers: { authorization: `Bearer ${token}` } });
  while (status.status === 202) {
    await sleep(Number(status.headers.get('retry-after') ?? '1') * 1000);
    status = await fetch(kick.headers.get('content-location')!, { headers: { authorization: `Bearer ${token}` } });
  }
  expect(status.status).toBe(200);
  expect(status.headers.get('content-type')).toMatch(/^application\/json/);
  const manifest: any = await status.json();
  expect(manifest.requiresAccessToken).toBe(true);
  expect(manifest.output.map((o: any) => o.type)).toEqual(['Patient']); // the token asked for Patient only
  const file = await fetch(manifest.output[0].url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
  const ids = (await file.text()).trim().split('\n').map((l) => JSON.parse(l).id).sort();
  expect(ids).toEqual(stack.info.patients.map((p) => p.id).sort());
  // Without the token the file is not served (the authorizer runs on every download).
  expect((await fetch(manifest.output[0].url)).status).toBe(401);
});
