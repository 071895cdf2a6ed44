/**
 * Paging links. A backend's next/previous links carry cursors (`_offset`, HealthLake's `page`)
 * that select results the proxy did not narrow itself. So fhirgate only accepts a cursor in a link
 * it issued, to the same caller, for the same query: the link carries a MAC over the caller and
 * the canonical query, and a link that was altered or is replayed by someone else is refused.
 * The MAC itself is computed by an adapter (HMAC locally, KMS in AWS); this module says what is
 * signed.
 */
import { AccessDeniedError } from './errors';
import { Principal } from './principal';
import { PAGING_PARAMS, SearchParam } from './search-params';

/** Query parameter that carries the link's MAC. */
export const PAGE_SIGNATURE_PARAM = '_fhirgate_page';

/** Computes and checks MACs; implementations must compare in constant time. */
export interface PageSigner {
  sign(input: string): Promise<string>;
  verify(input: string, signature: string): Promise<boolean>;
}

/**
 * The signed text: caller, path and the parameters sorted by key (API Gateway regroups query
 * parameters by key, so only the order within one key survives the round trip — and FHIR gives
 * repeated keys AND semantics, so that order is all that matters).
 */
export function pageSignatureInput(principal: Principal, path: string, params: readonly SearchParam[]): string {
  const pairs = params
    .filter((p) => p.key !== PAGE_SIGNATURE_PARAM)
    .map((p, i) => [p.key, p.value, i] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return ['fhirgate-page-v1', principal.sub, principal.clientId, principal.actor ?? '', path, pairs.join('&')].join('\n');
}

/** True when the request carries a backend cursor and so needs a valid link signature. */
export function hasPagingParams(params: readonly SearchParam[]): boolean {
  return params.some((p) => PAGING_PARAMS.has(p.name));
}

/**
 * Verify a request's paging signature when it has cursors; returns the params without the
 * signature. A signature without cursors is simply dropped (it grants nothing).
 */
export async function checkPagingSignature(
  signer: PageSigner,
  principal: Principal,
  path: string,
  params: readonly SearchParam[],
): Promise<SearchParam[]> {
  const rest = params.filter((p) => p.key !== PAGE_SIGNATURE_PARAM);
  if (!hasPagingParams(rest)) return rest;
  const signatures = params.filter((p) => p.key === PAGE_SIGNATURE_PARAM);
  const refuse = () =>
    new AccessDeniedError('ERR_FORBIDDEN', 'paging parameters are only accepted in paging links fhirgate issued to this caller for this query');
  if (signatures.length !== 1) throw refuse();
  if (!(await signer.verify(pageSignatureInput(principal, path, rest), signatures[0]!.value))) throw refuse();
  return rest;
}
