/**
 * The post-filter: every resource in every Bundle the backend returns is checked against the
 * principal before it leaves the proxy — search matches, `_include`/`_revinclude` entries, history
 * versions and `$everything` results. Two steps, in this order:
 *
 * 1. **Visibility** (`checkResource`): an entry the caller may not see is removed.
 * 2. **Reference closure**: an included entry stays only when a kept entry references it
 *    (`_include`) or it references a kept entry (`_revinclude`). With `:iterate` the closure is
 *    taken to a fixed point over the *kept* set. The backend iterates through records the first
 *    step removes; without this step a shared resource reached only through another patient's
 *    record (a Medication, a Practitioner) would still come back and tell the caller about them.
 *
 * Nothing in the filtered Bundle depends on a removed entry: `total` is the backend's only when no
 * match was removed and the caller is unconfined; for confined callers it is the count of kept
 * matches, and only when the answer is complete (no next page). The backend is never trusted:
 * this runs even when the request was narrowed.
 */
import { parseReference, someReference } from './reference';
import { AccessContext, checkResource, isUnconfined, resourceTypeOf } from './resource-access';
import type { Permission } from './scopes';
import type { ClosureMode } from './search-policy';
import { isRecord, ownValue } from './untrusted-json';

export interface FilterResult {
  readonly bundle: Record<string, unknown>;
  /** Entries removed because the caller may not see them or no kept record reaches them. */
  readonly removed: number;
  /** Entries kept. */
  readonly kept: number;
}

export interface BundleUrlRewriter {
  /** Map a backend URL (fullUrl, link) to its public form; undefined drops it. */
  (url: string, relation: string | undefined): string | undefined;
}

export interface FilterOptions {
  /** How includes are closed over the kept set. @default 'one-hop' */
  readonly closure?: ClosureMode;
  /** Answer with the count only (`_summary=count`, `_count=0`): entries are counted, then dropped. */
  readonly countOnly?: boolean;
}

interface Candidate {
  /** The entry as it leaves the proxy (copyEntry), made while the backend's entry is being read. */
  readonly copy: Record<string, unknown>;
  readonly include: boolean;
  readonly resource: unknown;
}

/**
 * Filter a Bundle (searchset, history, collection) for the caller.
 * - match entries need `matchPermission` ('s' for searches, 'r' for history/$everything);
 * - include entries need 'r' on their own type, and a kept record that reaches them;
 * - entries without a resource (deleted versions, bare outcomes) are dropped for confined callers:
 *   nothing proves they are inside the compartment.
 */
export function filterBundle(
  ctx: AccessContext,
  input: unknown,
  matchPermission: Permission,
  rewrite: BundleUrlRewriter,
  options: FilterOptions = {},
): FilterResult {
  if (!isRecord(input) || input.resourceType !== 'Bundle') throw new TypeError('filterBundle: not a Bundle');
  const entries = Array.isArray(input.entry) ? (input.entry as unknown[]) : [];
  const unconfined = isUnconfined(ctx.principal);
  const visible: Candidate[] = [];
  let removedMatches = 0;
  let removed = 0;
  for (const raw of entries) {
    const candidate = visibleEntry(ctx, raw, matchPermission, unconfined, rewrite);
    if (candidate) visible.push(candidate);
    else {
      removed += 1;
      if (!isIncludeEntry(raw)) removedMatches += 1;
    }
  }
  const kept = closeOverReferences(visible, options.closure ?? 'one-hop', ctx.ownBaseUrls);
  removed += visible.length - kept.length;

  const bundle: Record<string, unknown> = { resourceType: 'Bundle' };
  for (const key of ['id', 'meta', 'type', 'timestamp'] as const) {
    if (input[key] !== undefined) bundle[key] = input[key];
  }
  const links = rewriteLinks(input.link, rewrite);
  const total = totalFor(input.total, kept, links, unconfined, removedMatches, options.countOnly === true);
  if (total !== undefined) bundle.total = total;
  if (links.length > 0) bundle.link = links;
  if (kept.length > 0 && !options.countOnly) bundle.entry = kept.map((c) => c.copy);
  return { bundle, removed, kept: kept.length };
}

/**
 * The entry when it passes the visibility gate, else undefined. The line where a resource is
 * removed for what it is. A visible entry is copied for the response here, in the same pass over
 * the backend's entries (a second pass cost a tenth of a 10 000-entry filter in cache misses).
 */
function visibleEntry(ctx: AccessContext, raw: unknown, matchPermission: Permission, unconfined: boolean, rewrite: BundleUrlRewriter): Candidate | undefined {
  if (!isRecord(raw)) return undefined;
  const resource = ownValue(raw, 'resource');
  const mode = searchMode(raw);
  // Only a system principal may see resource-less entries (a deleted version in history) and outcomes.
  if (resource === undefined || mode === 'outcome') return unconfined ? { copy: copyEntry(raw, rewrite), include: false, resource } : undefined;
  const include = mode === 'include';
  if (!checkResource(ctx, resource, include ? 'r' : matchPermission).ok) return undefined;
  return { copy: copyEntry(raw, rewrite), include, resource };
}

/**
 * Keep every match; keep an include only when it is adjacent (by literal reference, either
 * direction) to a kept entry: the matches for one hop, the growing kept set for `:iterate`.
 * The line where a resource is removed for how it was reached.
 */
function closeOverReferences(visible: readonly Candidate[], mode: ClosureMode, bases: readonly string[]): readonly Candidate[] {
  const includes = visible.filter((c) => c.include);
  if (includes.length === 0) return visible;
  const keyOf = new Map<Candidate, string | undefined>();
  const refsOf = new Map<Candidate, ReadonlySet<string>>();
  for (const c of visible) {
    keyOf.set(c, resourceKey(c.resource));
    refsOf.set(c, referencedKeys(c.resource, bases));
  }
  const kept = new Set<Candidate>(visible.filter((c) => !c.include));
  const frontier = new Set<Candidate>(kept);
  let pending = includes;
  while (pending.length > 0 && frontier.size > 0) {
    const reachedKeys = new Set<string>();
    const frontierKeys = new Set<string>();
    for (const k of frontier) {
      for (const ref of refsOf.get(k)!) reachedKeys.add(ref);
      const key = keyOf.get(k);
      if (key !== undefined) frontierKeys.add(key);
    }
    frontier.clear();
    const next: Candidate[] = [];
    for (const c of pending) {
      const key = keyOf.get(c);
      const reached = (key !== undefined && reachedKeys.has(key)) || [...refsOf.get(c)!].some((ref) => frontierKeys.has(ref));
      if (reached) {
        kept.add(c);
        frontier.add(c);
      } else next.push(c);
    }
    pending = next;
    if (mode === 'one-hop') break;
  }
  return visible.filter((c) => kept.has(c));
}

/** `Type/id` of a resource, the form references are normalised to. */
function resourceKey(resource: unknown): string | undefined {
  const type = resourceTypeOf(resource);
  const id = isRecord(resource) ? ownValue(resource, 'id') : undefined;
  return type !== undefined && typeof id === 'string' ? `${type}/${id}` : undefined;
}

/** Every literal reference in the resource to this server, as `Type/id`. */
export function referencedKeys(resource: unknown, bases: readonly string[]): ReadonlySet<string> {
  const out = new Set<string>();
  someReference(resource, (reference) => {
    const target = parseReference(reference, bases);
    if (target) out.add(`${target.resourceType}/${target.id}`);
    return false;
  });
  return out;
}

/**
 * What `total` may say. Confined callers: the number of kept matches, and only when this page is
 * the whole answer. Unconfined callers: the backend's figure, unless a match was removed.
 */
function totalFor(
  backendTotal: unknown,
  kept: readonly Candidate[],
  links: readonly { relation: string }[],
  unconfined: boolean,
  removedMatches: number,
  countOnly: boolean,
): number | undefined {
  if (unconfined) return typeof backendTotal === 'number' && removedMatches === 0 ? backendTotal : undefined;
  if (links.some((l) => l.relation === 'next')) return undefined;
  const matches = kept.filter((c) => !c.include).length;
  return countOnly || typeof backendTotal === 'number' ? matches : undefined;
}

function searchMode(entry: Record<string, unknown>): unknown {
  const search = ownValue(entry, 'search');
  return isRecord(search) ? ownValue(search, 'mode') : undefined;
}

function isIncludeEntry(raw: unknown): boolean {
  return isRecord(raw) && searchMode(raw) === 'include';
}

/** Copy the entry with its fullUrl mapped to the public base (or dropped when foreign). */
const ENTRY_PARTS = ['resource', 'search', 'request', 'response'] as const;

function copyEntry(entry: Record<string, unknown>, rewrite: BundleUrlRewriter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ENTRY_PARTS) {
    const value = ownValue(entry, key);
    if (value !== undefined) out[key] = value;
  }
  const fullUrl = ownValue(entry, 'fullUrl');
  if (typeof fullUrl === 'string') {
    const url = rewrite(fullUrl, undefined);
    if (url !== undefined) out.fullUrl = url;
  }
  return out;
}

function rewriteLinks(links: unknown, rewrite: BundleUrlRewriter): { relation: string; url: string }[] {
  if (!Array.isArray(links)) return [];
  const out: { relation: string; url: string }[] = [];
  for (const link of links) {
    if (!isRecord(link)) continue;
    const relation = ownValue(link, 'relation');
    const url = ownValue(link, 'url');
    if (typeof relation !== 'string' || typeof url !== 'string') continue;
    const mapped = rewrite(url, relation);
    if (mapped !== undefined) out.push({ relation, url: mapped });
  }
  return out;
}
