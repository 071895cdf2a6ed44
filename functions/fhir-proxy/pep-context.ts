/**
 * The state one request's enforcement carries, and the steps every interaction shares: the
 * single-resource visibility check and the forward-then-filter of a Bundle.
 */
import { AccessDeniedError, DependencyError, NotFoundError } from '../core/errors';
import type { PageSigner } from '../core/paging';
import type { Principal } from '../core/principal';
import { AccessContext, checkResource } from '../core/resource-access';
import { filterBundle, FilterOptions, FilterResult } from '../core/response-filter';
import type { Permission } from '../core/scopes';
import { formatQuery, SearchParam } from '../core/search-params';
import type { AuthzSettings } from '../core/settings';
import type { FhirBackend } from './backend';
import type { ExportConfig } from './export-config';
import type { PublicUrls } from './public-urls';
import { backendFailure, isResourceOf, parseBackendJson } from './responses';

/** What the audit line learns while a request is enforced: counts and codes, never values. */
export interface AuditNotes {
  removed: number;
  /** Codes of refusals inside the request (batch and transaction entries), in order. */
  readonly codes: string[];
  /** A bulk-export step: kick-off/status/cancel/download, level, types, backend job. */
  export?: Record<string, unknown>;
}

/** Everything one request's enforcement needs. */
export interface PepContext extends AccessContext {
  readonly principal: Principal;
  readonly settings: AuthzSettings;
  readonly backend: FhirBackend;
  readonly signer: PageSigner;
  readonly urls: PublicUrls;
  readonly audit: AuditNotes;
  /** Backend text a page may have before it is asked for again with a smaller `_count` (response-bound.ts). */
  readonly pageBudgetChars: number;
  /** Bulk export backend settings (export.ts); absent: defaults. */
  readonly exports?: ExportConfig;
}

/**
 * Throw the refusal for a single resource that fails a gate: "not found" for the compartment gate
 * (the same answer as a missing resource), 403 for the scope gate.
 */
export function assertVisible(ctx: PepContext, resource: unknown, permission: Permission): void {
  const verdict = checkResource(ctx, resource, permission);
  if (verdict.ok) return;
  if (verdict.gate === 'compartment') throw new NotFoundError('ERR_OUT_OF_COMPARTMENT', verdict.reason);
  throw new AccessDeniedError('ERR_SCOPE_INSUFFICIENT', verdict.reason);
}

/** GET a Bundle from the backend and filter it for the caller. */
export async function forwardBundle(ctx: PepContext, path: string, matchPermission: Permission, options: FilterOptions = {}): Promise<ForwardedBundle> {
  const response = await ctx.backend.send({ method: 'GET', path });
  if (response.status !== 200) backendFailure(response.status);
  const bundle = parseBackendJson(response);
  if (!isResourceOf(bundle, 'Bundle')) throw new DependencyError('ERR_DEPENDENCY_FAILED', 'FHIR backend answered a search with something other than a Bundle');
  const links = await ctx.urls.bundleRewriter(ctx.principal, ctx.signer, bundle);
  const result = filterBundle(ctx, bundle, matchPermission, links, options);
  ctx.audit.removed += result.removed;
  const entries = Array.isArray(bundle.entry) ? bundle.entry.length : 0;
  return { ...result, backendEntries: entries, backendChars: response.body.length };
}

/** A filtered Bundle, with the size of the backend's page it came from. */
export interface ForwardedBundle extends FilterResult {
  readonly backendEntries: number;
  /** Length of the backend's JSON text (UTF-16 units, a lower bound on its bytes). */
  readonly backendChars: number;
}

/** Path plus canonical query. */
export function withQuery(path: string, params: readonly SearchParam[]): string {
  const query = formatQuery(params);
  return query ? `${path}?${query}` : path;
}
