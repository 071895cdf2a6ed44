/**
 * Bulk Data `$export` (IG v2) through the PEP: kick-off → status → files, each request planned on
 * its own (core/bulk-export.ts: who, which types, which parameters) and carried out here
 * (core/export-job.ts: job binding, manifest, per-line filter). This file only talks to the
 * backend and shapes HTTP answers.
 *
 * fhirgate's URLs (all under the FHIR base, so API Gateway runs the authorizer on each):
 * - status / cancel: `GET|DELETE [base]/$export-poll-status?_jobId=<handle>`
 * - a file:          `GET [base]/$export-file?_jobId=<handle>&_file=o<n>|e<n>`
 * Anything wrong with the handle — made up, another client's, expired, a job the backend no
 * longer knows — is the same "not found".
 */
import { EXPORT_FILE_OPERATION, EXPORT_STATUS_OPERATION, ExportPlan, ExportRequestPlan, exportPath } from '../core/bulk-export';
import { NotFoundError, RequestError } from '../core/errors';
import { clientManifest, ExportJob, filterNdjson, formatFileRef, isBackendJobPath, mayDownload, openJob, parseBackendManifest, parseFileRef, sealJob } from '../core/export-job';
import { outcome } from '../core/operation-outcome';
import type { SearchParam } from '../core/search-params';
import type { BackendRequest, BackendResponse } from './backend';
import { exportFileReader, healthLakeKickoffBody } from './export-config';
import { PepContext, withQuery } from './pep-context';
import { backendErrorResponse, backendFailure, json, parseBackendJson, ProxyResponse } from './responses';

/** A day: how long status and files stay reachable unless configured (the bucket's lifecycle default). */
export const DEFAULT_EXPORT_MAX_AGE_SECONDS = 24 * 60 * 60;
const NDJSON = 'application/fhir+ndjson';
/**
 * Largest file body streamed in one response. A Lambda's synchronous response is at most 6 MB
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), and the body is
 * JSON-escaped inside it (every `"` of NDJSON doubles), so a third of it is kept free.
 */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Carry out one planned export step. */
export async function exportOperation(ctx: PepContext, p: ExportRequestPlan): Promise<ProxyResponse> {
  ctx.audit.export = { step: p.step };
  switch (p.step) {
    case 'kick-off':
      return kickoff(ctx, p);
    case 'status':
      return status(ctx, p);
    case 'cancel':
      return cancel(ctx, p);
    case 'download':
      return download(ctx, p);
  }
}

/** Kick-off (IG §Bulk Data Kick-off Request): start the backend job, answer 202 + status URL. */
async function kickoff(ctx: PepContext, p: { readonly export: ExportPlan; readonly request: string }): Promise<ProxyResponse> {
  const plan = p.export;
  ctx.audit.export = { ...ctx.audit.export, level: plan.level, types: plan.types ?? ['*'] };
  const path = withQuery(exportPath(plan), backendQuery(plan));
  const target = ctx.exports?.healthLake;
  const backendReq: BackendRequest = target
    ? // HealthLake: POST, with where to write the files and the role that writes them in the body.
      { method: 'POST', path, headers: { prefer: 'respond-async', 'content-type': 'application/json' }, body: JSON.stringify(healthLakeKickoffBody(target, ctx.principal.clientId)) }
    : { method: 'GET', path, headers: { prefer: 'respond-async' } };
  const response = await ctx.backend.send(backendReq);
  if (response.status === 429) return tooManyRequests(response);
  if (response.status !== 202) backendFailure(response.status === 200 ? 502 : response.status);
  const location = response.headers['content-location'];
  const backendPath = location === undefined ? undefined : ctx.urls.relative(location);
  if (backendPath === undefined || !isBackendJobPath(backendPath)) backendFailure(502);
  const job: ExportJob = { backendPath, level: plan.level, ...(plan.types ? { types: plan.types } : {}), request: p.request, issuedAt: nowSeconds(ctx) };
  const handle = await sealJob(ctx.signer, ctx.principal, job);
  ctx.audit.export = { ...ctx.audit.export, job: backendPath };
  return json(202, informational('export started; poll the Content-Location URL'), {
    'content-location': `${ctx.urls.publicBase}/$${EXPORT_STATUS_OPERATION}?_jobId=${handle}`,
  });
}

/** Status (IG §Bulk Data Status Request): 202 + progress while running, 200 + manifest when done. */
async function status(ctx: PepContext, p: { readonly handle: string }): Promise<ProxyResponse> {
  const job = await jobOf(ctx, p.handle);
  const response = await ctx.backend.send({ method: 'GET', path: job.backendPath });
  if (response.status === 202) {
    const headers: Record<string, string> = { 'retry-after': String(retryAfter(response.headers['retry-after'])) };
    const progress = response.headers['x-progress'];
    // IG: X-Progress is free text for people; pass it only when it is short, printable ASCII.
    if (progress && /^[\x20-\x7e]{1,100}$/.test(progress)) headers['x-progress'] = progress;
    return { status: 202, headers };
  }
  if (response.status === 429) return tooManyRequests(response);
  if (response.status !== 200) backendFailure(response.status);
  const manifest = parseBackendManifest(parseBackendJson(response));
  if (!manifest) backendFailure(502);
  const base = ctx.urls.publicBase;
  const body = clientManifest(manifest, job, ctx.principal, {
    request: `${base}/${job.request}`,
    file: (ref) => `${base}/$${EXPORT_FILE_OPERATION}?_jobId=${p.handle}&_file=${formatFileRef(ref)}`,
  });
  // IG §Complete Status: the manifest is application/json, not a FHIR resource.
  return { status: 200, headers: { 'content-type': 'application/json', expires: new Date((job.issuedAt + maxAge(ctx)) * 1000).toUTCString() }, body };
}

/** Cancel (IG §Delete a Bulk Data Request): 202 once the backend has the cancellation. */
async function cancel(ctx: PepContext, p: { readonly handle: string }): Promise<ProxyResponse> {
  const job = await jobOf(ctx, p.handle);
  const response = await ctx.backend.send({ method: 'DELETE', path: job.backendPath });
  if (response.status >= 300) return backendErrorResponse(response.status);
  return json(202, informational('export cancelled'));
}

/** One file, looked up again in the backend's manifest and filtered line by line for the caller. */
async function download(ctx: PepContext, p: { readonly handle: string; readonly file: string }): Promise<ProxyResponse> {
  const job = await jobOf(ctx, p.handle);
  const ref = parseFileRef(p.file);
  if (!ref) throw new NotFoundError('ERR_NOT_FOUND', 'no such export file');
  const response = await ctx.backend.send({ method: 'GET', path: job.backendPath });
  if (response.status === 202) throw new NotFoundError('ERR_NOT_FOUND', 'export not complete');
  if (response.status !== 200) backendFailure(response.status);
  const file = parseBackendManifest(parseBackendJson(response))?.[ref.list][ref.index];
  if (!file || !mayDownload(ctx.principal, job, file, ref.list)) throw new NotFoundError('ERR_NOT_FOUND', 'no such export file for this caller');
  ctx.audit.export = { ...ctx.audit.export, type: file.type, file: formatFileRef(ref) };
  const text = await exportFileReader(ctx.exports, ctx.backend).read(file.url);
  if (text === undefined) throw new NotFoundError('ERR_NOT_FOUND', 'export file is gone');
  const filtered = filterNdjson(ctx, text, ref.list === 'error' ? 'OperationOutcome' : file.type);
  ctx.audit.removed += filtered.removed;
  const limit = ctx.exports?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (Buffer.byteLength(filtered.text) > limit) {
    throw new RequestError('ERR_PAYLOAD_TOO_LARGE', `this export file is larger than fhirgate streams in one response (${limit} bytes); export fewer resources per file with _type, _since or _typeFilter`);
  }
  return { status: 200, headers: { 'content-type': NDJSON }, text: filtered.text };
}

/** The job a handle names for this caller; otherwise "not found", whatever the reason. */
async function jobOf(ctx: PepContext, handle: string): Promise<ExportJob> {
  const job = await openJob(ctx.signer, ctx.principal, handle, nowSeconds(ctx), maxAge(ctx));
  ctx.audit.export = { ...ctx.audit.export, ...(job ? { level: job.level, types: job.types ?? ['*'], job: job.backendPath } : { job: 'unknown' }) };
  if (!job) throw new NotFoundError('ERR_NOT_FOUND', 'no export job with this id for this client');
  return job;
}

/** The backend's kick-off query: the planned types and filters, never the client's raw text. */
function backendQuery(plan: ExportPlan): SearchParam[] {
  const params: SearchParam[] = [];
  const add = (name: string, value: string) => params.push({ key: name, name, value });
  if (plan.types) add('_type', plan.types.join(','));
  if (plan.since) add('_since', plan.since);
  for (const f of plan.typeFilters) add('_typeFilter', f);
  return params;
}

/** 429 with Retry-After (IG: the server's concurrent-export quota is full; try again later). */
function tooManyRequests(response: BackendResponse): ProxyResponse {
  return json(429, outcome('ERR_DEPENDENCY_FAILED', 'too many concurrent exports on the FHIR server; retry later'), { 'retry-after': String(retryAfter(response.headers['retry-after'])) });
}

/** Retry-After as whole seconds, 1–120 (an HTTP-date or garbage from the backend becomes 5). */
function retryAfter(value: string | undefined): number {
  const n = value !== undefined && /^\d{1,6}$/.test(value) ? Number(value) : 5;
  return Math.min(Math.max(n, 1), 120);
}

function maxAge(ctx: PepContext): number {
  return ctx.exports?.maxAgeSeconds ?? DEFAULT_EXPORT_MAX_AGE_SECONDS;
}

function nowSeconds(ctx: PepContext): number {
  return Math.floor((ctx.exports?.now?.() ?? Date.now()) / 1000);
}

/** IG: kick-off and cancel answers may carry an OperationOutcome; this one only informs. */
function informational(text: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', details: { text } }] };
}
