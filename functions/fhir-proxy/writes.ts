/**
 * Writes: create, update, patch, delete, and their conditional forms.
 *
 * DESIGN.md: "Writes are checked before (stored version) and after (new body): nothing moves into
 * or out of a compartment the caller does not hold." So every update/patch/delete first reads the
 * stored version and checks it; the new body is checked too; and the write is forwarded with
 * `If-Match` on the version that was checked, so a concurrent change cannot slip between the
 * check and the write. Patches are applied here and sent as that versioned update: what was
 * checked is exactly what is stored. Conditional writes resolve their criteria inside the caller's
 * compartments (narrowed search, post-filtered) and then act on the one match by id.
 */
import { assertConfinedSearchParams, assertScopeCovers, authorizeInteraction, narrowingFor } from '../core/decision';
import { AccessDeniedError, DependencyError, RequestError } from '../core/errors';
import type { FhirRequest } from '../core/fhir-request';
import { applyPatch, parsePatch } from '../core/json-patch';
import { checkResource, checkWriteBody, isUnconfined } from '../core/resource-access';
import type { Permission } from '../core/scopes';
import { formatQuery, SearchParam } from '../core/search-params';
import { addOnce, assertVisible, forwardBundle, PepContext, withQuery } from './pep-context';
import { backendErrorResponse, isResourceOf, json, notFoundResponse, parseBackendJson, ProxyResponse, Refusal } from './responses';

interface Stored {
  readonly resource: Record<string, unknown>;
  readonly versionId: string | undefined;
}

/** Dispatch a write interaction. */
export async function write(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  authorizeInteraction(ctx.principal, ctx.settings, req);
  const type = req.resourceType!;
  switch (req.interaction) {
    case 'create':
      return create(ctx, type, req.body, req.ifNoneExist);
    case 'update':
    case 'patch':
    case 'delete': {
      const id = req.conditional ? await resolveConditional(ctx, req) : req.id;
      if (id === undefined) {
        // No match inside the caller's compartments: an update creates (R4 http.html#cond-update);
        // a patch or delete has nothing to act on.
        if (req.interaction === 'update') return create(ctx, type, withoutId(req.body), undefined);
        return notFoundResponse();
      }
      if (req.interaction === 'delete') return remove(ctx, type, id);
      return modify(ctx, req, type, id);
    }
    default:
      throw new AccessDeniedError('ERR_FORBIDDEN', `interaction ${req.interaction} is not a write`);
  }
}

/** POST Type (and conditional create): the body must lie inside the caller's compartments. */
async function create(ctx: PepContext, type: string, body: unknown, ifNoneExist: readonly SearchParam[] | undefined): Promise<ProxyResponse> {
  assertScopeCovers(ctx.principal, type, 'c');
  assertBody(ctx, body, 'c');
  const headers: Record<string, string> = { prefer: 'return=representation' };
  if (ifNoneExist) headers['if-none-exist'] = formatQuery(confine(ctx, type, ifNoneExist));
  const response = await ctx.backend.send({ method: 'POST', path: type, body: JSON.stringify(body), headers });
  return writeResult(ctx, response.status, response.body, response.headers);
}

/** PUT Type/id and PATCH Type/id: stored version checked, new body checked, versioned write. */
async function modify(ctx: PepContext, req: FhirRequest, type: string, id: string): Promise<ProxyResponse> {
  const stored = await readStored(ctx, type, id);
  if (!stored) {
    if (req.interaction === 'patch') return notFoundResponse();
    // Update-as-create with a client-chosen id would let a confined caller claim ids (and reuse
    // the history of a deleted record); only system clients may do it.
    if (!isUnconfined(ctx.principal)) {
      throw new AccessDeniedError('ERR_FORBIDDEN', 'creating a resource by PUT with a client-chosen id is not allowed for patient-scoped callers; use POST');
    }
    assertScopeCovers(ctx.principal, type, 'c');
    const response = await ctx.backend.send({ method: 'PUT', path: `${type}/${id}`, body: JSON.stringify(req.body), headers: { prefer: 'return=representation' } });
    return writeResult(ctx, response.status, response.body, response.headers);
  }
  assertVisible(ctx, stored.resource, 'u');
  const body = req.interaction === 'patch' ? patched(stored.resource, req.body) : { ...(req.body as Record<string, unknown>), id };
  assertBody(ctx, body, 'u');
  if (req.ifMatch !== undefined && versionOf(req.ifMatch) !== stored.versionId) {
    return json(412, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', details: { text: 'If-Match does not match the current version' } }] });
  }
  const headers: Record<string, string> = { prefer: 'return=representation' };
  if (stored.versionId) headers['if-match'] = `W/"${stored.versionId}"`;
  const response = await ctx.backend.send({ method: 'PUT', path: `${type}/${id}`, body: JSON.stringify(body), headers });
  return writeResult(ctx, response.status, response.body, response.headers);
}

/** DELETE Type/id: only a stored resource the caller holds, and never a Patient for confined callers. */
async function remove(ctx: PepContext, type: string, id: string): Promise<ProxyResponse> {
  const stored = await readStored(ctx, type, id);
  if (!stored) return notFoundResponse();
  assertVisible(ctx, stored.resource, 'd');
  if (!isUnconfined(ctx.principal) && type === 'Patient') {
    throw new AccessDeniedError('ERR_FORBIDDEN', 'patient-scoped callers cannot delete Patient resources');
  }
  const response = await ctx.backend.send({ method: 'DELETE', path: `${type}/${id}` });
  if (response.status >= 300) return backendErrorResponse(response.status);
  return { status: 204, headers: {} };
}

/**
 * Resolve conditional criteria to at most one id inside the caller's compartments
 * (R4 http.html#cond-update: several matches → 412).
 */
async function resolveConditional(ctx: PepContext, req: FhirRequest): Promise<string | undefined> {
  const permission: Permission = req.interaction === 'delete' ? 'd' : 'u';
  const criteria = confine(ctx, req.resourceType!, req.params.filter((p) => p.name !== '_count'));
  const result = await forwardBundle(ctx, withQuery(req.resourceType!, [...criteria, { key: '_count', name: '_count', value: '2' }]), permission);
  const entries = (result.bundle.entry as { resource: { id?: unknown } }[] | undefined) ?? [];
  if (entries.length > 1) throw new RequestError('ERR_PRECONDITION_FAILED', 'conditional criteria match more than one resource');
  const id = entries[0]?.resource.id;
  return typeof id === 'string' ? id : undefined;
}

/** Criteria for a confined caller: checked like a search and AND-ed with the compartment. */
function confine(ctx: PepContext, type: string, params: readonly SearchParam[]): SearchParam[] {
  if (isUnconfined(ctx.principal)) return [...params];
  assertConfinedSearchParams(params);
  return addOnce(params, narrowingFor(ctx.principal, type, ctx.settings));
}

async function readStored(ctx: PepContext, type: string, id: string): Promise<Stored | undefined> {
  const response = await ctx.backend.send({ method: 'GET', path: `${type}/${id}` });
  if (response.status === 404 || response.status === 410) return undefined;
  if (response.status !== 200) throw new Refusal(backendErrorResponse(response.status));
  const resource = parseBackendJson(response);
  if (!isResourceOf(resource, type) || resource.id !== id) throw new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend returned a different resource than asked for');
  const meta = resource.meta as { versionId?: unknown } | undefined;
  return { resource, versionId: typeof meta?.versionId === 'string' ? meta.versionId : undefined };
}

/** A new body must be a resource inside the caller's compartments: refusals here are 403. */
function assertBody(ctx: PepContext, body: unknown, permission: Permission): void {
  const verdict = checkWriteBody(ctx, body, permission);
  if (!verdict.ok) {
    ctx.audit.reason = verdict.reason;
    throw new AccessDeniedError('ERR_FORBIDDEN', `write refused: ${verdict.reason}`);
  }
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
function writeResult(ctx: PepContext, status: number, text: string, headers: Readonly<Record<string, string>>): ProxyResponse {
  if (status >= 300) return backendErrorResponse(status);
  const out = ctx.urls.resourceHeaders(headers);
  if (!text) return { status, headers: out };
  const resource = parseBackendJson({ status, headers, body: text });
  if (!checkResource(ctx, resource, 'r').ok) return { status, headers: out };
  return json(status, resource, out);
}
