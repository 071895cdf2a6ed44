/**
 * Every call the PEP can make to HealthLake, by FHIR interaction, and the IAM action HealthLake
 * checks for it. The proxy role is granted exactly the union of this table (lib/fhir-backend.ts),
 * so a new interaction cannot compile without saying what it needs, and nothing is granted that
 * no interaction uses.
 *
 * Action names: Service Authorization Reference, "Actions defined by AWS HealthLake"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awshealthlake.html).
 * What each interaction sends is in functions/fhir-proxy: pep.ts (read, vread, history, search,
 * $everything), writes.ts (stored-version read, conditional criteria as a search, then the
 * write), bundles.ts (stored-version reads, then one Bundle), and backend.ts, which sends every
 * search as `POST [type]/_search` (HealthLake advises POST for searches that carry PHI:
 * https://docs.aws.amazon.com/healthlake/latest/devguide/searching-fhir-resources-post.html).
 */
import type { Interaction } from '../functions/core/fhir-request';

export type HealthLakeAction =
  | 'healthlake:ReadResource'
  | 'healthlake:VersionReadResource'
  | 'healthlake:GetHistoryByResourceId'
  | 'healthlake:SearchWithPost'
  | 'healthlake:SearchEverything'
  | 'healthlake:CreateResource'
  | 'healthlake:UpdateResource'
  | 'healthlake:DeleteResource'
  | 'healthlake:ProcessBundle';

/** A write first reads the stored version; its conditional form resolves its criteria by a search. */
const CHECKED_WRITE = ['healthlake:ReadResource', 'healthlake:SearchWithPost'] as const;

/** Interaction → the HealthLake actions the backend calls for it need. */
export const HEALTHLAKE_ACTIONS_BY_INTERACTION: Readonly<Record<Interaction, readonly HealthLakeAction[]>> = {
  read: ['healthlake:ReadResource'],
  vread: ['healthlake:VersionReadResource'],
  'history-instance': ['healthlake:GetHistoryByResourceId'],
  // HealthLake has instance history only (no action for type or system history): the PEP's
  // forward is refused by HealthLake and answered as a backend error, never widened here.
  'history-type': [],
  'history-system': [],
  'search-type': ['healthlake:SearchWithPost'],
  'search-system': ['healthlake:SearchWithPost'],
  // If-None-Exist travels with the create; HealthLake evaluates it under CreateResource.
  create: ['healthlake:CreateResource'],
  // A conditional update without a match creates (R4 http.html#cond-update).
  update: [...CHECKED_WRITE, 'healthlake:UpdateResource', 'healthlake:CreateResource'],
  // A patch is applied by the PEP and sent as a versioned update.
  patch: [...CHECKED_WRITE, 'healthlake:UpdateResource'],
  delete: [...CHECKED_WRITE, 'healthlake:DeleteResource'],
  batch: ['healthlake:ReadResource', 'healthlake:ProcessBundle'],
  transaction: ['healthlake:ReadResource', 'healthlake:ProcessBundle'],
  // GET Patient/{id}/$everything. Bulk Data $export jobs are granted with their bucket
  // (lib/export-bucket.ts HEALTHLAKE_EXPORT_ACTIONS), only when the export is deployed.
  operation: ['healthlake:SearchEverything'],
  // fhirgate answers metadata with its own CapabilityStatement (fhir-proxy/discovery.ts) and
  // never forwards it.
  capabilities: [],
};

/** The proxy role's HealthLake actions: the union of the table, sorted. */
export function healthLakeProxyActions(): HealthLakeAction[] {
  return [...new Set(Object.values(HEALTHLAKE_ACTIONS_BY_INTERACTION).flat())].sort();
}
