/**
 * The state one request's enforcement carries, and the steps every interaction shares: the
 * single-resource visibility check and the forward-then-filter of a Bundle.
 */
import { AccessDeniedError } from '../core/errors';
import type { PageSigner } from '../core/paging';
import type { Principal } from '../core/principal';
import { AccessContext, checkResource } from '../core/resource-access';
import { filterBundle } from '../core/response-filter';
import type { Permission } from '../core/scopes';
import { formatQuery, SearchParam } from '../core/search-params';
import type { AuthzSettings } from '../core/settings';
import type { FhirBackend } from './backend';
import type { PublicUrls } from './public-urls';
import { backendErrorResponse, isResourceOf, notFoundResponse, parseBackendJson, Refusal } from './responses';

/** Everything one request's enforcement needs. */
export interface PepContext extends AccessContext {
  readonly principal: Principal;
  readonly settings: AuthzSettings;
  readonly backend: FhirBackend;
  readonly signer: PageSigner;
  readonly urls: PublicUrls;
  /** Counters for the audit line. */
  readonly audit: { removed: number; reason?: string };
}

/** Throw the right refusal when a single resource fails a gate: 404 for compartment, 403 for scope. */
export function assertVisible(ctx: PepContext, resource: unknown, permission: Permission): void {
  const verdict = checkResource(ctx, resource, permission);
  if (verdict.ok) return;
  ctx.audit.reason = verdict.reason;
  if (verdict.gate === 'compartment') throw new Refusal(notFoundResponse());
  throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', verdict.reason);
}

/** GET a Bundle from the backend and filter it for the caller. */
export async function forwardBundle(ctx: PepContext, path: string, matchPermission: Permission) {
  const response = await ctx.backend.send({ method: 'GET', path });
  if (response.status !== 200) throw new Refusal(backendErrorResponse(response.status));
  const bundle = parseBackendJson(response);
  if (!isResourceOf(bundle, 'Bundle')) throw new Refusal(backendErrorResponse(502));
  const links = await ctx.urls.bundleRewriter(ctx.principal, ctx.signer, bundle);
  const result = filterBundle(ctx, bundle, matchPermission, links);
  ctx.audit.removed += result.removed;
  return result;
}

/** Append narrowing parameters unless the identical key=value is already present (paging links). */
export function addOnce(params: readonly SearchParam[], extra: readonly SearchParam[]): SearchParam[] {
  const out = [...params];
  for (const p of extra) {
    if (!out.some((q) => q.key === p.key && q.value === p.value)) out.push(p);
  }
  return out;
}

/** Path plus canonical query. */
export function withQuery(path: string, params: readonly SearchParam[]): string {
  const query = formatQuery(params);
  return query ? `${path}?${query}` : path;
}
