/**
 * Bulk Data `$export` (IG v2) in the local store, with HealthLake's shape: kick-off at
 * `[base]/$export`, `[base]/Patient/$export` and `[base]/Group/{id}/$export` (GET, or POST with
 * HealthLake's JSON body) answers 202 with `Content-Location: [base]/export/{jobId}`; GET there is
 * 202 + X-Progress + Retry-After while running and 200 + manifest once done; DELETE cancels
 * (202) and removes the files. Output: one NDJSON file per type in the state directory, served
 * at `[base]/export/{jobId}/{Type}-1.ndjson`. A job finishes after `delayMs`, so clients poll.
 * At most `maxConcurrent` jobs run at once; one more is 429 with Retry-After.
 */
import { isResourceType, parseSearchRequest } from '@medplum/core';
import type { Group, Patient, Resource } from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compartmentMembers } from './everything';
import type { QueryPairs } from './query';
import type { FhirStoreRepository } from './repository';
import type { StoreRequest, StoreResponse } from './router';
import { FHIR_JSON } from './router';

export interface ExportOptions {
  /** Where job directories are written (the stack's state directory). */
  readonly dir: string;
  /** Time from kick-off to a complete job. @default 1500 */
  readonly delayMs?: number;
  /** Jobs running at once before kick-offs get 429. @default 3 */
  readonly maxConcurrent?: number;
}

interface Job {
  readonly id: string;
  readonly request: string;
  readonly transactionTime: string;
  readonly readyAt: number;
  files?: { type: string; name: string }[];
  timer?: NodeJS.Timeout;
  /** The file writing in progress, so a cancel can wait for it before removing the directory. */
  writing?: Promise<void>;
  cancelled?: boolean;
}

const JOB_ID = /^[0-9a-f]{32}$/;
const FILE = /^([A-Z][A-Za-z]+)-1\.ndjson$/;

/** The export routes of one store; `handle` returns undefined for every other request. */
export class StoreExports {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly repo: FhirStoreRepository,
    private readonly options: ExportOptions,
  ) {}

  /** Answer an export request, or undefined when the request is not one. */
  async handle(request: StoreRequest, baseUrl: string): Promise<StoreResponse | undefined> {
    const { method, segments } = request;
    const op = segments[segments.length - 1];
    if (op === '$export' && (method === 'GET' || method === 'POST')) {
      if (segments.length === 1) return this.kickoff(request, baseUrl, undefined);
      if (segments.length === 2 && segments[0] === 'Patient') return this.kickoff(request, baseUrl, 'patient');
      if (segments.length === 3 && segments[0] === 'Group') return this.kickoff(request, baseUrl, segments[1]);
      return outcome(400, 'invalid', '$export is defined on [base], Patient and Group/{id}');
    }
    if (segments[0] !== 'export' || segments.length < 2 || segments.length > 3) return undefined;
    const job = JOB_ID.test(segments[1]!) ? this.jobs.get(segments[1]!) : undefined;
    if (!job) return outcome(404, 'not-found', 'no such export job');
    if (segments.length === 3) return method === 'GET' ? this.file(job, segments[2]!) : outcome(405, 'not-supported', 'files are GET only');
    if (method === 'DELETE') return this.cancel(job);
    if (method === 'GET') return this.status(job, baseUrl);
    return outcome(405, 'not-supported', 'export status is GET or DELETE');
  }

  /** Stop every pending job (store shutdown). */
  close(): void {
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.cancelled = true;
    }
  }

  private async kickoff(request: StoreRequest, baseUrl: string, level: 'patient' | string | undefined): Promise<StoreResponse> {
    if (!/respond-async/i.test(String(request.headers.prefer ?? ''))) return outcome(400, 'invalid', 'Prefer: respond-async is required');
    const running = [...this.jobs.values()].filter((j) => !j.files).length;
    if (running >= (this.options.maxConcurrent ?? 3)) {
      return { ...outcome(429, 'throttled', 'too many concurrent exports'), headers: { 'content-type': FHIR_JSON, 'retry-after': '2' } };
    }
    const params = request.query;
    const types = values(params, '_type').flatMap((v) => v.split(','));
    const bad = types.find((t) => !isResourceType(t));
    if (bad) return outcome(400, 'invalid', `unknown resource type in _type: ${bad}`);
    const since = values(params, '_since')[0];
    if (since !== undefined && Number.isNaN(Date.parse(since))) return outcome(400, 'invalid', '_since is not an instant');
    // Selected now: the export reflects the store at transactionTime, whatever is written after.
    let selected: Resource[];
    try {
      selected = await this.select(level, types, since, values(params, '_typeFilter'));
    } catch (err) {
      return outcome(404, 'not-found', err instanceof Error ? err.message : String(err));
    }
    const id = randomBytes(16).toString('hex');
    const query = new URLSearchParams(params).toString();
    const job: Job = {
      id,
      request: `${baseUrl}/${request.segments.join('/')}${query ? `?${query}` : ''}`,
      transactionTime: new Date().toISOString(),
      readyAt: Date.now() + (this.options.delayMs ?? 1500),
    };
    job.timer = setTimeout(() => (job.writing = this.write(job, selected).catch(() => undefined)), this.options.delayMs ?? 1500);
    this.jobs.set(id, job);
    return { ...outcome(202, 'informational', 'export started'), headers: { 'content-type': FHIR_JSON, 'content-location': `${baseUrl}/export/${id}` } };
  }

  /** The resources a kick-off exports: by level, then `_type`, `_since` and `_typeFilter` (OR per type). */
  private async select(level: string | undefined, types: string[], since: string | undefined, typeFilters: string[]): Promise<Resource[]> {
    let resources: Resource[];
    if (level === undefined) {
      resources = (await Promise.all(this.repo.storedTypes().map((t) => this.repo.searchAll({ resourceType: t as Resource['resourceType'] })))).flat();
    } else {
      const patients =
        level === 'patient'
          ? await this.repo.searchAll<Patient>({ resourceType: 'Patient' })
          : await this.groupMembers(level);
      const all = new Map<string, Resource>();
      for (const p of patients) for (const [k, r] of await compartmentMembers(this.repo, p)) all.set(k, r);
      resources = [...all.values()];
    }
    if (types.length > 0) resources = resources.filter((r) => types.includes(r.resourceType));
    if (since !== undefined) resources = resources.filter((r) => Date.parse(r.meta?.lastUpdated ?? '') > Date.parse(since));
    const filtered = new Map<string, Set<string>>();
    for (const f of typeFilters) {
      const search = parseSearchRequest(f);
      const ids = filtered.get(search.resourceType) ?? new Set<string>();
      for (const r of await this.repo.searchAll(search)) ids.add(r.id!);
      filtered.set(search.resourceType, ids);
    }
    return resources.filter((r) => filtered.get(r.resourceType)?.has(r.id!) ?? true);
  }

  private async groupMembers(groupId: string): Promise<Patient[]> {
    const group = await this.repo.readResource<Group>('Group', groupId).catch(() => undefined);
    if (!group) throw new Error(`Group/${groupId} not found`);
    const ids = (group.member ?? []).map((m) => /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(m.entity?.reference ?? '')?.[1]).filter((id): id is string => !!id);
    const patients = await Promise.all(ids.map((id) => this.repo.readResource<Patient>('Patient', id).catch(() => undefined)));
    return patients.filter((p): p is Patient => !!p);
  }

  private async write(job: Job, resources: Resource[]): Promise<void> {
    const byType = new Map<string, Resource[]>();
    for (const r of resources) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r]);
    await mkdir(join(this.options.dir, job.id), { recursive: true });
    const files: { type: string; name: string }[] = [];
    for (const [type, list] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
      if (job.cancelled) return;
      const name = `${type}-1.ndjson`;
      await writeFile(join(this.options.dir, job.id, name), list.map((r) => JSON.stringify(r)).join('\n') + '\n');
      files.push({ type, name });
    }
    job.files = files;
  }

  private status(job: Job, baseUrl: string): StoreResponse {
    if (!job.files) {
      const left = Math.max(0, job.readyAt - Date.now());
      const delay = this.options.delayMs ?? 1500;
      const percent = Math.min(99, Math.round(100 * (1 - left / delay)));
      return { ...outcome(202, 'informational', 'in progress'), headers: { 'content-type': FHIR_JSON, 'x-progress': `in progress (${percent}%)`, 'retry-after': '1' } };
    }
    const manifest = {
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: true,
      output: job.files.map((f) => ({ type: f.type, url: `${baseUrl}/export/${job.id}/${f.name}` })),
      error: [],
    };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: manifest as unknown as Resource, text: JSON.stringify(manifest) };
  }

  private async cancel(job: Job): Promise<StoreResponse> {
    clearTimeout(job.timer);
    job.cancelled = true;
    this.jobs.delete(job.id);
    await job.writing;
    await rm(join(this.options.dir, job.id), { recursive: true, force: true });
    return outcome(202, 'informational', 'export cancelled');
  }

  private async file(job: Job, name: string): Promise<StoreResponse> {
    if (!job.files?.some((f) => f.name === name) || !FILE.test(name)) return outcome(404, 'not-found', 'no such file');
    const text = await readFile(join(this.options.dir, job.id, name), 'utf8');
    return { status: 200, headers: { 'content-type': 'application/fhir+ndjson' }, body: { resourceType: 'Binary' } as Resource, text };
  }
}

function values(params: QueryPairs, key: string): string[] {
  return params.filter(([k]) => k === key).map(([, v]) => v);
}

function outcome(status: number, code: string, text: string): StoreResponse {
  const severity = status < 300 ? 'information' : 'error';
  return { status, headers: { 'content-type': FHIR_JSON }, body: { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] } as Resource };
}
