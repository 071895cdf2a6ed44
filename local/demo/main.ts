/**
 * `npm run demo`: with the local stack running, walk the access patterns with real requests and
 * print what each caller sees — allowed and refused — in words a person can follow.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { backendServicesToken, exchangeToken, machineToken, signIn, tokenOf } from '../stack/clients';
import type { StackInfo } from '../../bin/cli/stack-info';

interface Step {
  readonly what: string;
  readonly path: string;
  readonly method?: string;
  readonly body?: unknown;
}

async function loadStack(): Promise<StackInfo> {
  const file = resolve(process.env.FHIRGATE_DIR ?? '.local', 'stack.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StackInfo;
  } catch {
    throw new Error(`no running stack: ${file} not found. Start it first with: npm start`);
  }
}

/** One line per request: the outcome in words. */
async function run(info: StackInfo, token: string, step: Step): Promise<void> {
  const res = await fetch(`${info.fhirBaseUrl}/${step.path}`, {
    method: step.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(step.body ? { 'content-type': 'application/fhir+json' } : {}) },
    body: step.body ? JSON.stringify(step.body) : undefined,
  });
  const body = (await res.json().catch(() => undefined)) as any;
  let seen: string;
  if (body?.resourceType === 'Bundle') {
    const keys = (body.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
    seen = keys.length ? keys.slice(0, 6).join(', ') + (keys.length > 6 ? ` … (${keys.length})` : '') : '(no entries)';
  } else if (body?.resourceType === 'OperationOutcome') {
    seen = `refused: ${body.issue?.[0]?.details?.text ?? body.issue?.[0]?.code}`;
  } else {
    seen = body ? `${body.resourceType}/${body.id}` : '';
  }
  const verdict = res.status < 300 ? 'allowed' : 'refused';
  process.stdout.write(`  ${String(res.status).padEnd(4)} ${verdict.padEnd(8)} ${step.what.padEnd(46)} ${seen}\n`);
}

async function section(title: string, explain: string, token: string, info: StackInfo, steps: Step[]): Promise<void> {
  process.stdout.write(`\n${title}\n  ${explain}\n`);
  for (const step of steps) await run(info, token, step);
}

async function main(): Promise<void> {
  const info = await loadStack();
  process.stdout.write(`fhirgate demo against ${info.fhirBaseUrl}\n`);

  await section(
    '1. API server acting for itself — recommended: SMART Backend Services, signed client assertion (private_key_jwt)',
    'backend-sync signs a one-time ES384 assertion, fhirgate issues a ≤300 s system/*.rs token: every patient, read and search only.',
    await backendServicesToken(info),
    info,
    [
      { what: 'GET Patient (all patients)', path: 'Patient' },
      { what: 'POST Observation (no write scope)', path: 'Observation', method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'demo' }, subject: { reference: 'Patient/pat-bob' } } },
    ],
  );
  await section(
    '   simple alternative: Cognito client_credentials with a client secret',
    'api-server, scope system/*.rs: the same reach, but a shared secret authenticates the client.',
    await machineToken(info, 'api-server', 'system/*.rs'),
    info,
    [
      { what: 'GET Patient (all patients)', path: 'Patient' },
      { what: 'GET Observation?subject=Patient/pat-bob', path: 'Observation?subject=Patient/pat-bob' },
      { what: 'POST Observation (no write scope)', path: 'Observation', method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'demo' }, subject: { reference: 'Patient/pat-bob' } } },
    ],
  );
  await section(
    '   analytics client, scope system/Observation.rs only',
    'a narrower machine client: Observations of everyone, nothing else.',
    await machineToken(info, 'analytics'),
    info,
    [
      { what: 'GET Observation?category=laboratory', path: 'Observation?category=laboratory' },
      { what: 'GET Patient/pat-alice', path: 'Patient/pat-alice' },
    ],
  );

  const alice = await signIn(info, 'alice');
  const exchanged = await exchangeToken(info, alice, await machineToken(info, 'api-server'));
  const onBehalfToken = tokenOf('the token exchange', exchanged);
  const { scope, patient, expires_in: lifetime } = exchanged.body;
  await section(
    '2. API server acting for one signed-in patient (RFC 8693 token exchange)',
    `Alice's token (subject) + the API server's token (actor) → ${String(scope)} for ${String(patient)}, ${String(lifetime)} s; a bug in the API server cannot reach anyone else.`,
    onBehalfToken,
    info,
    [
      { what: 'GET Observation (Alice\'s, via the API server)', path: 'Observation' },
      { what: 'GET Patient/pat-bob (not Alice)', path: 'Patient/pat-bob' },
      { what: 'GET Observation?subject=Patient/pat-bob', path: 'Observation?subject=Patient/pat-bob' },
      { what: 'POST Observation (Alice holds no write scope)', path: 'Observation', method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'demo' }, subject: { reference: 'Patient/pat-alice' } } },
    ],
  );

  await section(
    '3. Frontend calling FHIR directly with Alice\'s own Cognito token (patient)',
    'plain Cognito sign-in; the patient role defaults to patient/*.rs, confined to Patient/pat-alice.',
    alice,
    info,
    [
      { what: 'GET Patient/pat-alice (own record)', path: 'Patient/pat-alice' },
      { what: 'GET Observation (no patient named)', path: 'Observation' },
      { what: 'GET Patient/pat-bob (someone else)', path: 'Patient/pat-bob' },
      { what: 'GET Observation?subject=Patient/pat-bob', path: 'Observation?subject=Patient/pat-bob' },
      { what: 'GET Practitioner/prac-1 (shared directory)', path: 'Practitioner/prac-1' },
    ],
  );
  await section(
    '   Carol\'s mother (guardian)',
    'linked to her child pat-carol only.',
    await signIn(info, 'carols-mother'),
    info,
    [
      { what: 'GET Patient', path: 'Patient' },
      { what: 'GET Condition', path: 'Condition' },
      { what: 'GET Patient/pat-alice', path: 'Patient/pat-alice' },
    ],
  );
  await section(
    '   Dr. Demo (practitioner, panel: pat-alice)',
    'user/ scopes confined to the panel.',
    await signIn(info, 'dr-demo'),
    info,
    [
      { what: 'GET Patient', path: 'Patient' },
      { what: 'GET Encounter', path: 'Encounter' },
      { what: 'GET Patient/pat-bob', path: 'Patient/pat-bob' },
    ],
  );
  await bulkExportSection(info, alice);
  process.stdout.write('\nEvery line above went through the gateway emulation, the authorizer and the PEP — the same code the Lambdas run.\n');
}

/**
 * 4. Bulk Data $export (FHIR Bulk Data Access IG v2), as a backend services client runs it:
 * kick-off with `Prefer: respond-async`, poll the status URL as Retry-After says, download each
 * file of the manifest with the same token.
 */
async function bulkExportSection(info: StackInfo, patientToken: string): Promise<void> {
  process.stdout.write('\n4. Bulk export ($export) — population data for analytics, billing and quality jobs\n');
  process.stdout.write('  only system/ clients may export; the types are _type ∩ the scopes that grant read and search.\n');
  const exportAs = async (who: string, token: string, path: string): Promise<void> => {
    const kick = await fetch(`${info.fhirBaseUrl}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
    if (kick.status !== 202) {
      const body = (await kick.json().catch(() => undefined)) as any;
      process.stdout.write(`  ${String(kick.status).padEnd(4)} refused  ${`${who}: GET ${path}`.padEnd(46)} ${body?.issue?.[0]?.details?.text ?? ''}\n`);
      return;
    }
    const statusUrl = kick.headers.get('content-location')!;
    process.stdout.write(`  202  accepted ${`${who}: GET ${path}`.padEnd(46)} status URL: …/$export-poll-status?_jobId=<handle bound to ${who}>\n`);
    let status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    while (status.status === 202) {
      process.stdout.write(`  202  polling  ${'status'.padEnd(46)} X-Progress: ${status.headers.get('x-progress')}, Retry-After: ${status.headers.get('retry-after')} s\n`);
      await new Promise((r) => setTimeout(r, Number(status.headers.get('retry-after') ?? '1') * 1000));
      status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    }
    const manifest = (await status.json()) as { output: { type: string; url: string }[]; requiresAccessToken: boolean };
    for (const file of manifest.output) {
      const res = await fetch(file.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
      const lines = (await res.text()).split('\n').filter((l) => l !== '').length;
      process.stdout.write(`  ${String(res.status).padEnd(4)} download ${file.type.padEnd(46)} ${lines} resources (NDJSON, token required: ${manifest.requiresAccessToken})\n`);
    }
  };
  await exportAs('backend-sync', await backendServicesToken(info), '$export?_type=Patient,Observation');
  await exportAs('analytics', await machineToken(info, 'analytics'), '$export');
  await exportAs('analytics', await machineToken(info, 'analytics'), '$export?_type=Patient');
  await exportAs('alice', patientToken, 'Patient/$export');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
