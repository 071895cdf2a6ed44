/**
 * Writes: create, update, patch, delete, and their conditional forms, as planned by core/plan.ts.
 *
 * Writes are checked before (the stored version) and after (the new body): nothing moves into or
 * out of a compartment the caller does not hold (docs/security-model.md). So every
 * update/patch/delete first reads the stored version and checks it; the new body is checked too;
 * and the write is sent with `If-Match` on the version that was checked, so a concurrent change
 * cannot slip between the check and the write. Patches are applied here and sent as that
 * versioned update: what was checked is exactly what is stored. Conditional writes resolve their
 * (already confined) criteria inside the caller's compartments and then act on the one match by id.
 *
 * A write is prepared (decided, with every read it needs) and then sent; a transaction prepares
 * all its writes this same way before it sends any (bundles.ts).
 */
import { AccessDeniedError, DependencyError, NotFoundError, RequestError } from '../core/errors';
import { applyPatch, parsePatch } from '../core/json-patch';
import type { Plan } from '../core/plan';
import { checkResource, checkWriteBody, isUnconfined } from '../core/resource-access';
import type { Permission } from '../core/scopes';
import { formatQuery, SearchParam } from '../core/search-params';
import type { BackendRequest, BackendResponse } from './backend';
import { assertVisible, forwardBundle, PepContext, withQuery } from './pep-context';
import { backendFailure, isResourceOf, json, parseBackendJson, ProxyResponse } from './responses';

export type WritePlan = Extract<Plan, { kind: 'create' | 'update' | 'patch' | 'delete' }>;

/** A write that passed every check: what to send, and how to read the backend's answer. */
export interface PreparedWrite {
  readonly request: BackendRequest;
  finish(response: BackendResponse): ProxyResponse;
}

interface Stored {
  readonly resource: Record<string, unknown>;
  readonly versionId: string | undefined;
}

/** Prepare, send, answer. */
export async function write(ctx: PepContext, p: WritePlan): Promise<ProxyResponse> {
  const prepared = await prepareWrite(ctx, p);
  return prepared.finish(await ctx.backend.send(prepared.request));
}

/** Decide a write: every check, every read it needs; throws the refusal. */
export async function prepareWrite(ctx: PepContext, p: WritePlan): Promise<PreparedWrite> {
  if (p.kind === 'create') return prepareCreate(ctx, p.resourceType, p.body, p.ifNoneExist);
  const id = 'id' in p.target ? p.target.id : await resolveConditional(ctx, p.resourceType, p.target.criteria, p.kind === 'delete' ? 'd' : 'u');
  if (id === undefined) {
    // No match inside the caller's compartments: an update creates (R4 http.html#cond-update);
    // a patch or delete has nothing to act on.
    if (p.kind === 'update') return prepareCreate(ctx, p.resourceType, withoutId(p.body), undefined);
    throw new NotFoundError('ERR_NOT_FOUND', 'no resource matches the criteria');
  }
  const stored = await readStored(ctx, p.resourceType, id);
  if (!stored) {
    // Update-as-create with a client-chosen id would let a confined caller claim ids (and reuse
    // the history of a deleted record), so only system clients may. For everyone else a missing
    // id answers exactly like another patient's: not found.
    if (p.kind === 'update' && isUnconfined(ctx.principal)) {
      assertBody(ctx, p.body, 'c');
      return prepared(ctx, { method: 'PUT', path: `${p.resourceType}/${id}`, body: JSON.stringify(p.body), headers: { prefer: 'return=representation' } });
    }
    throw new NotFoundError('ERR_NOT_FOUND', 'no stored version to change');
  }
  if (p.kind === 'delete') {
    assertVisible(ctx, stored.resource, 'd');
    if (!isUnconfined(ctx.principal) && p.resourceType === 'Patient') {
      throw new AccessDeniedError('ERR_FORBIDDEN', 'patient-scoped callers cannot delete Patient resources');
    }
    return { request: { method: 'DELETE', path: `${p.resourceType}/${id}`, headers: pinned(stored) }, finish: deleted };
  }
  assertVisible(ctx, stored.resource, 'u');
  const body = p.kind === 'patch' ? patched(stored.resource, p.body) : { ...(p.body as Record<string, unknown>), id };
  assertBody(ctx, body, 'u');
  if (p.ifMatch !== undefined && versionOf(p.ifMatch) !== stored.versionId) {
    throw new RequestError('ERR_PRECONDITION_FAILED', 'If-Match does not match the current version');
  }
  return prepared(ctx, { method: 'PUT', path: `${p.resourceType}/${id}`, body: JSON.stringify(body), headers: { prefer: 'return=representation', ...pinned(stored) } });
}

/** POST Type (and conditional create): the body must lie inside the caller's compartments. */
function prepareCreate(ctx: PepContext, type: string, body: unknown, ifNoneExist: readonly SearchParam[] | undefined): PreparedWrite {
  assertBody(ctx, body, 'c');
  const headers: Record<string, string> = { prefer: 'return=representation' };
  if (ifNoneExist) headers['if-none-exist'] = formatQuery(ifNoneExist);
  return prepared(ctx, { method: 'POST', path: type, body: JSON.stringify(body), headers });
}

function prepared(ctx: PepContext, request: BackendRequest): PreparedWrite {
  return { request, finish: (response) => writeResult(ctx, response) };
}

function deleted(response: BackendResponse): ProxyResponse {
  if (response.status >= 300) backendFailure(response.status);
  return { status: 204, headers: {} };
}

function pinned(stored: Stored): Record<string, string> {
  return stored.versionId ? { 'if-match': `W/"${stored.versionId}"` } : {};
}

/**
 * Resolve conditional criteria (confined by the planner) to at most one id the caller may write
 * (R4 http.html#cond-update: several matches → 412).
 */
async function resolveConditional(ctx: PepContext, type: string, criteria: readonly SearchParam[], permission: Permission): Promise<string | undefined> {
  const result = await forwardBundle(ctx, withQuery(type, [...criteria, { key: '_count', name: '_count', value: '2' }]), permission);
  const entries = (result.bundle.entry as { resource: { id?: unknown } }[] | undefined) ?? [];
  if (entries.length > 1) throw new RequestError('ERR_PRECONDITION_FAILED', 'conditional criteria match more than one resource');
  const id = entries[0]?.resource.id;
  return typeof id === 'string' ? id : undefined;
}

async function readStored(ctx: PepContext, type: string, id: string): Promise<Stored | undefined> {
  const response = await ctx.backend.send({ method: 'GET', path: `${type}/${id}` });
  if (response.status === 404 || response.status === 410) return undefined;
  if (response.status !== 200) backendFailure(response.status);
  const resource = parseBackendJson(response);
  if (!isResourceOf(resource, type) || resource.id !== id) throw new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend returned a different resource than asked for');
  const meta = resource.meta as { versionId?: unknown } | undefined;
  return { resource, versionId: typeof meta?.versionId === 'string' ? meta.versionId : undefined };
}

/** A new body must be a resource inside the caller's compartments: refusals here are 403. */
function assertBody(ctx: PepContext, body: unknown, permission: Permission): void {
  const verdict = checkWriteBody(ctx, body, permission);
  if (!verdict.ok) throw new AccessDeniedError('ERR_FORBIDDEN', `write refused: ${verdict.reason}`);
}

function patched(stored: Record<string, unknown>, patch: unknown): Record<string, unknown> {
  const result = applyPatch(stored, parsePatch(patch)) as Record<string, unknown>;
  if (!isResourceOf(result, stored.resourceType as string) || result.id !== stored.id) {
    throw new RequestError('ERR_BAD_REQUEST', 'a patch may not change resourceType or id');
  }
  return result;
}

function withoutId(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const { id: _id, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** `W/"3"` or `"3"` → `3`. */
function versionOf(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** The backend's answer to a write: the stored resource is returned only if the caller may read it. */
function writeResult(ctx: PepContext, response: BackendResponse): ProxyResponse {
  if (response.status >= 300) backendFailure(response.status);
  const headers = ctx.urls.resourceHeaders(response.headers);
  if (!response.body) return { status: response.status, headers };
  const resource = parseBackendJson(response);
  if (!checkResource(ctx, resource, 'r').ok) return { status: response.status, headers };
  return json(response.status, resource, headers);
}
