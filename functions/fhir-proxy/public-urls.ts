/**
 * Backend URLs never reach the caller: fullUrls, paging links and Location/Content-Location
 * headers are rewritten from the backend's base to the public FHIR base of the gateway. A URL
 * that is not under the backend base is dropped, not passed on. Paging links that carry a
 * backend cursor are signed for the caller (core/paging.ts), so following one is re-authorized.
 */
import { PAGE_SIGNATURE_PARAM, PageSigner, hasPagingParams, pageSignatureInput } from '../core/paging';
import type { Principal } from '../core/principal';
import type { BundleUrlRewriter } from '../core/response-filter';
import { formatQuery, parseSearchParam, SearchParam } from '../core/search-params';

/** Response headers that are safe to pass on from a backend read or write. */
const PASSED_HEADERS = ['etag', 'last-modified'] as const;
const URL_HEADERS = ['location', 'content-location'] as const;

export class PublicUrls {
  /** `backendBase/`: what every backend URL under the base starts with. */
  private readonly backendPrefix: string;

  constructor(
    /** e.g. https://abc.execute-api.us-east-1.amazonaws.com/prod/fhir (no trailing slash) */
    readonly publicBase: string,
    /** the backend's FHIR base (no trailing slash) */
    readonly backendBase: string,
  ) {
    this.backendPrefix = `${backendBase}/`;
  }

  /** The part of a backend URL below its base ('Observation/1', 'Observation?x=y'), or undefined. */
  relative(url: string): string | undefined {
    if (!url.startsWith(this.backendPrefix)) return undefined;
    return url.slice(this.backendPrefix.length);
  }

  /** A backend URL without cursors, mapped to the public base; undefined when not the backend's. */
  toPublic(url: string): string | undefined {
    const rel = this.relative(url);
    return rel === undefined ? undefined : `${this.publicBase}/${rel}`;
  }

  /** Headers to return with a single resource: ETag, Last-Modified, and rewritten Location headers. */
  resourceHeaders(backendHeaders: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      if (backendHeaders[name]) out[name] = backendHeaders[name]!;
    }
    for (const name of URL_HEADERS) {
      const url = backendHeaders[name] ? this.toPublic(backendHeaders[name]!) : undefined;
      if (url) out[name] = url;
    }
    return out;
  }

  /**
   * Prepare a rewriter for one Bundle: links with backend cursors are signed for this caller now
   * (signing is asynchronous; the filter that applies the rewriter is not).
   */
  async bundleRewriter(principal: Principal, signer: PageSigner, bundle: Record<string, unknown>): Promise<BundleUrlRewriter> {
    const signed = new Map<string, string>();
    const links = Array.isArray(bundle.link) ? bundle.link : [];
    for (const link of links) {
      const url = typeof link === 'object' && link !== null ? (link as { url?: unknown }).url : undefined;
      if (typeof url !== 'string' || signed.has(url)) continue;
      const publicUrl = await this.signedLink(principal, signer, url);
      if (publicUrl) signed.set(url, publicUrl);
    }
    return (url, relation) => (relation === undefined ? this.toPublic(url) : signed.get(url));
  }

  private async signedLink(principal: Principal, signer: PageSigner, url: string): Promise<string | undefined> {
    const rel = this.relative(url);
    if (rel === undefined) return undefined;
    const q = rel.indexOf('?');
    const path = q < 0 ? rel : rel.slice(0, q);
    let params: SearchParam[];
    try {
      params = [...new URLSearchParams(q < 0 ? '' : rel.slice(q + 1))]
        .filter(([key]) => key !== PAGE_SIGNATURE_PARAM)
        .map(([key, value]) => parseSearchParam(key, value));
    } catch {
      return undefined; // a link we cannot parse is a link we do not hand out
    }
    if (hasPagingParams(params)) {
      const signature = await signer.sign(pageSignatureInput(principal, path, params));
      params.push({ key: PAGE_SIGNATURE_PARAM, name: PAGE_SIGNATURE_PARAM, value: signature });
    }
    const query = formatQuery(params);
    return `${this.publicBase}/${path}${query ? `?${query}` : ''}`;
  }
}
