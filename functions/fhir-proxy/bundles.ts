/**
 * Batch and transaction Bundles. Every entry is parsed as the request it stands for and
 * authorized like one; a single refused entry refuses the whole Bundle and nothing is forwarded
 * (for transactions that is FHIR's all-or-nothing rule; for batches fhirgate applies the same
 * rule, so a client never gets a half-applied batch because of an authorization error).
 *
 * Per entry, before forwarding: reads and searches are gated and searches narrowed (the entry's
 * URL is rewritten); creates are checked on their body; updates and deletes read and check the
 * stored version and are pinned to it with If-Match. Conditional update/delete/patch entries
 * and patch entries are refused for patient-scoped callers (resolve them as single requests).
 * `urn:uuid` references between entries never put a resource into a patient compartment (only
 * a Patient can, and confined callers cannot create one), so a body must still name the caller's
 * patient directly. After forwarding, every resource in every response entry is checked again.
 */
import { assertConfinedSearchParams, authorizeInteraction, narrowingFor } from '../core/decision';
import { AccessDeniedError, FhirgateError, RequestError } from '../core/errors';
import { FhirRequest, parseFhirRequest } from '../core/fhir-request';
import { notFound } from '../core/operation-outcome';
import { checkResource, checkWriteBody, isUnconfined } from '../core/resource-access';
import { filterBundle } from '../core/response-filter';
import { addOnce, assertVisible, PepContext, withQuery } from './pep-context';
import { backendErrorResponse, isResourceOf, json, parseBackendJson, ProxyResponse, Refusal } from './responses';

type Entry = Record<string, unknown>;

/** Authorize every entry, forward the Bundle, filter every response entry. */
export async function bundle(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  const input = req.body as { type: string; entry?: unknown };
  const entries = Array.isArray(input.entry) ? (input.entry as unknown[]) : [];
  if (entries.length > 100) throw new RequestError('ERR_BAD_REQUEST', 'a Bundle may carry at most 100 entries');
  const parsed: FhirRequest[] = [];
  const forwarded: Entry[] = [];
  for (const [index, raw] of entries.entries()) {
    try {
      const entry = asEntry(raw);
      const entryReq = parseEntry(entry);
      parsed.push(entryReq);
      forwarded.push(await authorizeEntry(ctx, entry, entryReq));
    } catch (err) {
      throw refineEntryError(err, index);
    }
  }
  const response = await ctx.backend.send({
    method: 'POST',
    path: '',
    body: JSON.stringify({ resourceType: 'Bundle', type: input.type, entry: forwarded }),
  });
  if (response.status !== 200) return backendErrorResponse(response.status);
  const out = parseBackendJson(response);
  if (!isResourceOf(out, 'Bundle')) return backendErrorResponse(502);
  const results = Array.isArray(out.entry) ? (out.entry as unknown[]) : [];
  const rewriter = (url: string) => ctx.urls.toPublic(url);
  const filtered = results.map((raw, i) => filterResponseEntry(ctx, raw, parsed[i], rewriter));
  return json(200, { resourceType: 'Bundle', type: out.type, entry: filtered });
}

function asEntry(raw: unknown): Entry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RequestError('ERR_BAD_REQUEST', 'entry is not an object');
  return raw as Entry;
}

/** An entry's request as if it had been sent alone (R4 http.html#transaction: entry.request). */
function parseEntry(entry: Entry): FhirRequest {
  const request = entry.request as { method?: unknown; url?: unknown; ifMatch?: unknown; ifNoneExist?: unknown } | undefined;
  if (!request || typeof request.method !== 'string' || typeof request.url !== 'string') {
    throw new RequestError('ERR_BAD_REQUEST', 'entry.request needs method and url');
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(request.url) || request.url.startsWith('/')) {
    throw new RequestError('ERR_BAD_REQUEST', 'entry.request.url must be relative to the FHIR base');
  }
  const q = request.url.indexOf('?');
  const path = `/${q < 0 ? request.url : request.url.slice(0, q)}`;
  const query = [...new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1))];
  const headers: Record<string, string> = {};
  if (typeof request.ifMatch === 'string') headers['if-match'] = request.ifMatch;
  if (typeof request.ifNoneExist === 'string') headers['if-none-exist'] = request.ifNoneExist;
  if (entry.resource !== undefined) {
    if (isResourceOf(entry.resource, 'Bundle')) throw new RequestError('ERR_BAD_REQUEST', 'nested Bundles are not accepted');
    headers['content-type'] = 'application/fhir+json';
  }
  const body = entry.resource === undefined ? undefined : JSON.stringify(entry.resource);
  const parsed = parseFhirRequest({ method: request.method, path, query, headers, body });
  if (['batch', 'transaction', 'operation', 'capabilities'].includes(parsed.interaction)) {
    throw new AccessDeniedError('ERR_FORBIDDEN', `${parsed.interaction} is not allowed inside a Bundle`);
  }
  return parsed;
}

/** Authorize one entry; returns the entry to forward (URL narrowed, writes pinned to a version). */
async function authorizeEntry(ctx: PepContext, entry: Entry, req: FhirRequest): Promise<Entry> {
  authorizeInteraction(ctx.principal, ctx.settings, req);
  const confined = !isUnconfined(ctx.principal);
  const type = req.resourceType!;
  const request = { ...(entry.request as Record<string, unknown>) };
  const forward: Entry = { request };
  if (entry.fullUrl !== undefined) forward.fullUrl = entry.fullUrl;
  if (entry.resource !== undefined) forward.resource = entry.resource;
  if (confined && (req.conditional && req.interaction !== 'create' || req.interaction === 'patch')) {
    throw new AccessDeniedError('ERR_FORBIDDEN', `conditional ${req.interaction} and patch entries are not allowed in Bundles for patient-scoped callers`);
  }
  switch (req.interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
      return forward; // checked on the way back
    case 'search-type':
      if (confined) {
        assertConfinedSearchParams(req.params);
        request.url = withQuery(type, addOnce(req.params, narrowingFor(ctx.principal, type, ctx.settings)));
      }
      return forward;
    case 'create':
      assertEntryBody(ctx, req.body, 'c');
      if (req.ifNoneExist && confined) {
        assertConfinedSearchParams(req.ifNoneExist);
        request.ifNoneExist = withQuery('', addOnce(req.ifNoneExist, narrowingFor(ctx.principal, type, ctx.settings))).slice(1);
      }
      return forward;
    case 'update':
    case 'delete': {
      if (!req.id) return forward; // conditional forms: system callers only (refused above otherwise)
      const stored = await ctx.backend.send({ method: 'GET', path: `${type}/${req.id}` });
      if (stored.status === 200) {
        const resource = parseBackendJson(stored);
        assertVisible(ctx, resource, req.interaction === 'delete' ? 'd' : 'u');
        const version = (resource as { meta?: { versionId?: unknown } }).meta?.versionId;
        if (typeof version === 'string') request.ifMatch = `W/"${version}"`;
      } else if (confined) {
        // Missing: a delete has nothing to do, an update would create with a chosen id (refused as in writes.ts).
        throw new Refusal(backendErrorResponse(404));
      }
      if (req.interaction === 'update') assertEntryBody(ctx, req.body, 'u');
      if (req.interaction === 'delete' && confined && type === 'Patient') {
        throw new AccessDeniedError('ERR_FORBIDDEN', 'patient-scoped callers cannot delete Patient resources');
      }
      return forward;
    }
    default:
      throw new AccessDeniedError('ERR_FORBIDDEN', `${req.interaction} is not allowed inside a Bundle`);
  }
}

function assertEntryBody(ctx: PepContext, body: unknown, permission: 'c' | 'u'): void {
  const verdict = checkWriteBody(ctx, body, permission);
  if (!verdict.ok) throw new AccessDeniedError('ERR_FORBIDDEN', `write refused: ${verdict.reason}`);
}

/** Name the entry in the refusal; a refused entry refuses the Bundle with the entry's own status. */
function refineEntryError(err: unknown, index: number): unknown {
  if (err instanceof FhirgateError) {
    return new FhirgateError(err.code, `Bundle entry ${index}: ${err.message}`, err.evidence, err.status);
  }
  return err;
}

/** Check what the backend returned for one entry; anything the caller may not see becomes a 404 entry. */
function filterResponseEntry(ctx: PepContext, raw: unknown, req: FhirRequest | undefined, rewrite: (url: string) => string | undefined): Entry {
  const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Entry;
  const response = (entry.response ?? {}) as Record<string, unknown>;
  const out: Entry = { response: { status: response.status, ...(response.etag ? { etag: response.etag } : {}), ...(typeof response.location === 'string' ? { location: response.location } : {}) } };
  const resource = entry.resource;
  if (resource === undefined) return out;
  if (isResourceOf(resource, 'Bundle') && req?.interaction.startsWith('search')) {
    out.resource = filterBundle(ctx, resource, 's', rewrite).bundle;
    return out;
  }
  if (checkResource(ctx, resource, 'r').ok) {
    out.resource = resource;
    return out;
  }
  ctx.audit.removed += 1;
  // A read of something outside the caller's reach reads exactly like a missing resource.
  return req && (req.interaction === 'read' || req.interaction === 'vread')
    ? { response: { status: '404 Not Found', outcome: notFound() } }
    : out;
}
