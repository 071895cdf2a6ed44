/**
 * The policy enforcement point, in the order a request travels:
 * parsed request → interaction gate → (narrow | read stored version) → forward → post-filter →
 * rewrite backend URLs to public ones. Writes and bundles continue in writes.ts and bundles.ts.
 *
 * Each step either returns a response or throws a fhirgate error; `handle` turns both into the
 * answer. Nothing reaches the caller that did not pass `checkResource` or `filterBundle`.
 */
import { assertConfinedSearchParams, authorizeInteraction, constraintNarrowing, narrowingFor } from '../core/decision';
import { AccessDeniedError } from '../core/errors';
import type { FhirRequest } from '../core/fhir-request';
import { checkPagingSignature } from '../core/paging';
import { isUnconfined } from '../core/resource-access';
import type { SearchParam } from '../core/search-params';
import { bundle } from './bundles';
import { addOnce, assertVisible, forwardBundle, PepContext, withQuery } from './pep-context';
import { backendErrorResponse, isResourceOf, json, notFoundResponse, parseBackendJson, ProxyResponse } from './responses';
import { write } from './writes';

/** Run one parsed request through enforcement. Batch/transaction and writes are delegated. */
export async function enforce(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  switch (req.interaction) {
    case 'read':
    case 'vread':
      return readInstance(ctx, req);
    case 'history-instance':
      return historyInstance(ctx, req);
    case 'search-type':
    case 'search-system':
    case 'history-type':
    case 'history-system':
      return search(ctx, req);
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      return write(ctx, req);
    case 'batch':
    case 'transaction':
      return bundle(ctx, req);
    case 'operation':
      return operation(ctx, req);
    case 'capabilities':
      throw new TypeError('capabilities is served by discovery, not enforced');
    default:
      throw new AccessDeniedError('ERR_FORBIDDEN', 'interaction not supported by fhirgate');
  }
}

/** GET Type/id and Type/id/_history/vid: the resource is checked before it is returned. */
async function readInstance(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  authorizeInteraction(ctx.principal, ctx.settings, req);
  const path = req.interaction === 'vread' ? `${req.resourceType}/${req.id}/_history/${req.versionId}` : `${req.resourceType}/${req.id}`;
  const response = await ctx.backend.send({ method: 'GET', path });
  if (response.status !== 200) return backendErrorResponse(response.status);
  const resource = parseBackendJson(response);
  // The backend must answer with the resource asked for; anything else is treated as missing.
  if (!isResourceOf(resource, req.resourceType!) || resource.id !== req.id) return notFoundResponse();
  assertVisible(ctx, resource, 'r');
  return json(200, resource, ctx.urls.resourceHeaders(response.headers));
}

/** GET Type/id/_history: each version is filtered on its own content; none left reads as missing. */
async function historyInstance(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  authorizeInteraction(ctx.principal, ctx.settings, req);
  const params = await pagedParams(ctx, req, `${req.resourceType}/${req.id}/_history`);
  const path = withQuery(`${req.resourceType}/${req.id}/_history`, params);
  const result = await forwardBundle(ctx, path, 'r');
  if (result.kept === 0 && !isUnconfined(ctx.principal)) return notFoundResponse();
  return json(200, result.bundle);
}

/**
 * Searches (GET and POST `_search`) and type/system history. Confined callers: parameters checked,
 * compartment narrowing AND-ed on, then every entry post-filtered. System callers: post-filtered
 * by scope only.
 */
async function search(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  authorizeInteraction(ctx.principal, ctx.settings, req);
  const base = req.interaction.startsWith('history') ? historyPath(req) : (req.resourceType ?? '');
  let params = await pagedParams(ctx, req, base);
  if (!isUnconfined(ctx.principal) && req.resourceType) {
    assertConfinedSearchParams(params);
    params = addOnce(params, narrowingFor(ctx.principal, req.resourceType, ctx.settings));
  }
  if (req.resourceType) params = addOnce(params, constraintNarrowing(ctx.principal, req.resourceType));
  const result = await forwardBundle(ctx, withQuery(base, params), 's');
  return json(200, result.bundle);
}

function historyPath(req: FhirRequest): string {
  return req.resourceType ? `${req.resourceType}/_history` : '_history';
}

/** `Patient/{id}/$everything`, for a patient the caller holds; every entry post-filtered. */
async function operation(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  if (req.operation !== 'everything' || req.resourceType !== 'Patient' || !req.id || req.method !== 'GET') {
    throw new AccessDeniedError('ERR_FORBIDDEN', `operation $${req.operation} is not enabled in fhirgate (only GET Patient/{id}/$everything)`);
  }
  if (!isUnconfined(ctx.principal) && !ctx.principal.patients.includes(req.id)) return notFoundResponse();
  const params = await pagedParams(ctx, req, `Patient/${req.id}/$everything`);
  for (const p of params) {
    if (!['_count', '_since', '_type', 'start', 'end', '_offset', 'page'].includes(p.name)) {
      throw new AccessDeniedError('ERR_FORBIDDEN', `parameter "${p.key}" is not supported on $everything`);
    }
  }
  const result = await forwardBundle(ctx, withQuery(`Patient/${req.id}/$everything`, params), 'r');
  if (result.kept === 0 && !isUnconfined(ctx.principal)) return notFoundResponse();
  return json(200, result.bundle);
}

/** The request's params, with any backend cursor verified against the caller's paging signature. */
async function pagedParams(ctx: PepContext, req: FhirRequest, path: string): Promise<SearchParam[]> {
  return checkPagingSignature(ctx.signer, ctx.principal, path, req.params);
}

