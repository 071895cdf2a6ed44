/**
 * The policy enforcement point: one pipeline for every request, in the order a request travels —
 * verify the paging link (if it carries a cursor) → plan (core/plan.ts: the one decision) → carry
 * the plan out against the backend → post-filter what comes back. Batch and transaction entries
 * come back here through `enforce`, so an entry is answered by exactly the code a standalone
 * request is (bundles.ts adds only FHIR's bundle rules).
 *
 * Every refusal is thrown as a fhirgate error; the handler turns it into the response. Nothing
 * reaches the caller that did not pass `checkResource` (assertVisible) or `filterBundle`.
 */
import { NotFoundError } from '../core/errors';
import type { FhirRequest } from '../core/fhir-request';
import { checkPagingSignature } from '../core/paging';
import { BundlePlan, Plan, plan, pagingPathOf } from '../core/plan';
import { bundle } from './bundles';
import { exportOperation } from './export';
import { assertVisible, forwardBundle, PepContext, withQuery } from './pep-context';
import { backendFailure, isResourceOf, json, parseBackendJson, ProxyResponse } from './responses';
import type { SearchParam } from '../core/search-params';
import { write } from './writes';

/** Run one parsed request through the pipeline. */
export async function enforce(ctx: PepContext, req: FhirRequest): Promise<ProxyResponse> {
  if (req.interaction === 'capabilities') throw new TypeError('capabilities is served by discovery, not enforced');
  const pagingPath = pagingPathOf(req);
  // A backend cursor is only accepted in a link fhirgate signed for this caller and this query.
  const verified = pagingPath === undefined ? req : { ...req, params: await checkPagingSignature(ctx.signer, ctx.principal, pagingPath, req.params) };
  return execute(ctx, plan(ctx.principal, ctx.settings, verified));
}

/** Carry out a plan. Every kind is named; there is no default path. */
function execute(ctx: PepContext, p: Plan): Promise<ProxyResponse> {
  switch (p.kind) {
    case 'read':
      return readInstance(ctx, p);
    case 'bundle-read':
      return readBundle(ctx, p);
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      return write(ctx, p);
    case 'bundle':
      return bundle(ctx, p, enforce);
    case 'export':
      return exportOperation(ctx, p); // Bulk Data $export: export.ts
  }
}

/** GET Type/id and Type/id/_history/vid: the resource is checked before it is returned. */
async function readInstance(ctx: PepContext, p: Extract<Plan, { kind: 'read' }>): Promise<ProxyResponse> {
  const response = await ctx.backend.send({ method: 'GET', path: p.path });
  if (response.status !== 200) backendFailure(response.status);
  const resource = parseBackendJson(response);
  // The backend must answer with the resource asked for; anything else is treated as missing.
  if (!isResourceOf(resource, p.resourceType) || resource.id !== p.id) throw new NotFoundError('ERR_NOT_FOUND', 'backend answered with another resource');
  assertVisible(ctx, resource, 'r');
  return json(200, resource, ctx.urls.resourceHeaders(response.headers));
}

/** Searches, history and $everything: forward, then filter every entry. */
async function readBundle(ctx: PepContext, p: BundlePlan): Promise<ProxyResponse> {
  const removedBefore = ctx.audit.removed;
  let params = p.params;
  for (;;) {
    ctx.audit.removed = removedBefore;
    const result = await forwardBundle(ctx, withQuery(p.path, params), p.matchPermission, { closure: p.closure, countOnly: p.countOnly });
    // A page too large for one Lambda response is asked for again with fewer entries; the
    // backend's next link for the smaller page is signed as usual, so the caller pages on. Once
    // only: a backend that ignores `_count` gets the handler's too-costly answer, not a loop.
    const smaller = p.countOnly || params !== p.params ? undefined : smallerPage(params, result.backendEntries, result.backendChars, ctx.pageBudgetChars);
    if (smaller) {
      params = smaller;
      continue;
    }
    // Instance history with no version the caller may see reads exactly like a missing resource.
    if (p.emptyIsNotFound && result.kept === 0) throw new NotFoundError('ERR_OUT_OF_COMPARTMENT', 'no visible version');
    return json(200, result.bundle);
  }
}

/** The same parameters with a `_count` that should fit, or undefined when the page fits or one entry is already too large. */
function smallerPage(params: readonly SearchParam[], entries: number, chars: number, budget: number): SearchParam[] | undefined {
  if (chars <= budget || entries <= 1) return undefined;
  const count = Math.max(1, Math.min(entries - 1, Math.floor((entries * budget) / chars)));
  return [...params.filter((q) => q.name !== '_count'), { key: '_count', name: '_count', value: String(count) }];
}
