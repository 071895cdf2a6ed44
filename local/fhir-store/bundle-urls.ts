import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import { pageWindow } from './search';

/** Where a bundle was produced: the public base, the path under it and the query as received. */
export interface BundleContext {
  baseUrl: string;
  /** Relative path, e.g. `Observation`, `Patient/_history`, `Patient/pat-alice/$everything`. */
  path: string;
  /** Query pairs in the order received (a POST `_search` body is merged in here). */
  query: [string, string][];
}

/**
 * Gives every entry of a searchset/history bundle its `fullUrl` and the bundle its `self`,
 * `first`, `previous` and `next` links, all on the store's own public base URL: a proxy in front
 * must rewrite them. Paging is Medplum's offset paging: `next` = same query with
 * `_count=<n>&_offset=<offset + n>`, present while `offset + n < total`.
 */
export function addBundleUrls(bundle: Bundle, context: BundleContext): Bundle {
  addFullUrls(bundle, context.baseUrl);
  if (bundle.type !== 'searchset' && bundle.type !== 'history') {
    return bundle;
  }
  const lastValue = (key: string): string | undefined => context.query.filter(([k]) => k === key).pop()?.[1];
  const { count, offset } = pageWindow({ count: toInt(lastValue('_count')), offset: toInt(lastValue('_offset')) });
  const unpaged = context.query.filter(([k]) => k !== '_count' && k !== '_offset');
  const pageUrl = (pageOffset: number): string =>
    buildUrl(context.baseUrl, context.path, [...unpaged, ['_count', String(count)], ['_offset', String(pageOffset)]]);

  const link: BundleLink[] = [{ relation: 'self', url: buildUrl(context.baseUrl, context.path, context.query) }];
  bundle.link = link;
  if (lastValue('_summary') === 'count') {
    return bundle;
  }
  link.push({ relation: 'first', url: pageUrl(0) });
  if (offset > 0 && count > 0) {
    link.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
  }
  if (count > 0 && bundle.total !== undefined && offset + count < bundle.total) {
    link.push({ relation: 'next', url: pageUrl(offset + count) });
  }
  return bundle;
}

/** Sets `fullUrl` (the resource's un-versioned absolute URL, R4 bundle.html#bundle-unique) on entries, nested bundles included. */
export function addFullUrls(bundle: Bundle, baseUrl: string): void {
  for (const entry of bundle.entry ?? []) {
    const target = entry.resource?.id
      ? `${entry.resource.resourceType}/${entry.resource.id}`
      : historyTarget(entry);
    if (target) {
      entry.fullUrl = `${baseUrl}/${target}`;
    }
    if (entry.resource?.resourceType === 'Bundle') {
      addFullUrls(entry.resource, baseUrl);
    }
  }
}

/** A history entry for a delete has no resource; its request URL names it. */
function historyTarget(entry: BundleEntry): string | undefined {
  const url = entry.request?.method === 'DELETE' ? entry.request.url : undefined;
  return url && !url.includes('?') ? url : undefined;
}

/** `base/path?k=v&…`, percent-encoding values but keeping `:`, `,`, `/` and `|` readable. */
export function buildUrl(baseUrl: string, path: string, query: [string, string][]): string {
  const encode = (s: string): string =>
    encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%2F/gi, '/').replace(/%7C/gi, '|');
  const search = query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  return `${baseUrl}/${path}${search ? '?' + search : ''}`;
}

function toInt(value: string | undefined): number | undefined {
  // parseInt, like Medplum's own `_count` parsing, so links agree with the page actually served.
  return value === undefined ? undefined : parseInt(value, 10);
}
