/**
 * The post-filter: every resource in every response is checked against the principal before it
 * leaves the proxy — search matches, `_include`/`_revinclude` entries (however they were
 * produced: `:iterate`, `*`), history versions and `$everything` results. A resource the caller
 * may not see is removed here, in `filterEntries`, and the reason is counted for the audit line.
 *
 * The backend is never trusted: this runs even when the request was narrowed, so a backend that
 * ignores a narrowing parameter still cannot leak.
 */
import { AccessContext, checkResource, isUnconfined } from './resource-access';
import { Permission } from './scopes';

export interface FilterResult {
  readonly bundle: Record<string, unknown>;
  /** Entries removed because the caller may not see them. */
  readonly removed: number;
  /** Entries kept. */
  readonly kept: number;
}

export interface BundleUrlRewriter {
  /** Map a backend URL (fullUrl, link) to its public form; undefined drops it. */
  (url: string, relation: string | undefined): string | undefined;
}

/**
 * Filter a Bundle (searchset, history, collection) for the caller.
 * - match entries need `matchPermission` ('s' for searches, 'r' for history/$everything);
 * - include entries need 'r' on their own type;
 * - entries without a resource (deleted versions, bare outcomes) are dropped for confined callers:
 *   nothing proves they are inside the compartment;
 * - `total` is kept only when nothing was removed (a corrected count would itself leak).
 */
export function filterBundle(
  ctx: AccessContext,
  input: unknown,
  matchPermission: Permission,
  rewrite: BundleUrlRewriter,
): FilterResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || (input as { resourceType?: unknown }).resourceType !== 'Bundle') {
    throw new TypeError('filterBundle: not a Bundle');
  }
  const source = input as Record<string, unknown>;
  const entries = Array.isArray(source.entry) ? (source.entry as unknown[]) : [];
  const kept: Record<string, unknown>[] = [];
  let removed = 0;
  for (const raw of entries) {
    const entry = filterEntry(ctx, raw, matchPermission, rewrite);
    if (entry) kept.push(entry);
    else removed += 1;
  }
  const bundle: Record<string, unknown> = { resourceType: 'Bundle' };
  for (const key of ['id', 'meta', 'type', 'timestamp'] as const) {
    if (source[key] !== undefined) bundle[key] = source[key];
  }
  if (typeof source.total === 'number' && removed === 0) bundle.total = source.total;
  const links = rewriteLinks(source.link, rewrite);
  if (links.length > 0) bundle.link = links;
  if (kept.length > 0) bundle.entry = kept;
  return { bundle, removed, kept: kept.length };
}

function filterEntry(
  ctx: AccessContext,
  raw: unknown,
  matchPermission: Permission,
  rewrite: BundleUrlRewriter,
): Record<string, unknown> | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const entry = raw as Record<string, unknown>;
  const resource = entry.resource;
  const search = entry.search as { mode?: unknown } | undefined;
  const mode = typeof search === 'object' && search !== null ? search.mode : undefined;
  if (resource === undefined) {
    // Only a system principal may see resource-less entries (e.g. a deleted version in history).
    return isUnconfined(ctx.principal) ? copyEntry(entry, rewrite) : undefined;
  }
  if (mode === 'outcome') return isUnconfined(ctx.principal) ? copyEntry(entry, rewrite) : undefined;
  const permission: Permission = mode === 'include' ? 'r' : matchPermission;
  // The line where a resource is removed from a response: it fails a gate for this caller.
  if (!checkResource(ctx, resource, permission).ok) return undefined;
  return copyEntry(entry, rewrite);
}

/** Copy the entry with its fullUrl mapped to the public base (or dropped when foreign). */
function copyEntry(entry: Record<string, unknown>, rewrite: BundleUrlRewriter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['resource', 'search', 'request', 'response'] as const) {
    if (entry[key] !== undefined) out[key] = entry[key];
  }
  if (typeof entry.fullUrl === 'string') {
    const url = rewrite(entry.fullUrl, undefined);
    if (url !== undefined) out.fullUrl = url;
  }
  return out;
}

function rewriteLinks(links: unknown, rewrite: BundleUrlRewriter): { relation: string; url: string }[] {
  if (!Array.isArray(links)) return [];
  const out: { relation: string; url: string }[] = [];
  for (const link of links) {
    if (typeof link !== 'object' || link === null) continue;
    const { relation, url } = link as { relation?: unknown; url?: unknown };
    if (typeof relation !== 'string' || typeof url !== 'string') continue;
    const mapped = rewrite(url, relation);
    if (mapped !== undefined) out.push({ relation, url: mapped });
  }
  return out;
}
