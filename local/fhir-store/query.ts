import { getSearchParameter, isResourceType, splitSearchOnComma } from '@medplum/core';
import { expandIncludeWildcards } from './include';

/** Query pairs in the order received: repeated keys stay separate (FHIR AND semantics). */
export type QueryPairs = [string, string][];

/**
 * Rewrites the two search forms Medplum's parser loses before it sees them:
 * - `_include=*` / `_revinclude=*` / `Type:*`, which it rejects, become explicit `Type:param` lists;
 * - `param:Type=id` (a reference type modifier, search.html#reference), whose modifier it drops,
 *   becomes `param=Type/id` so the type restriction survives.
 */
export function prepareSearchQuery(resourceType: string, query: QueryPairs): QueryPairs {
  return query.flatMap(([key, value]): QueryPairs => {
    if (key.startsWith('_include') || key.startsWith('_revinclude')) {
      return expandIncludeWildcards(resourceType, key, [value]).map((v) => [key, v]);
    }
    const [code, modifier, ...rest] = key.split(':');
    if (
      modifier &&
      rest.length === 0 &&
      !key.includes('.') &&
      isResourceType(modifier) &&
      getSearchParameter(resourceType, code)?.type === 'reference'
    ) {
      const typed = splitSearchOnComma(value).map((v) => (v.includes('/') ? v : `${modifier}/${v}`));
      return [[code, typed.join(',')]];
    }
    return [[key, value]];
  });
}

/** The record shape Medplum's FhirRequest.query takes: a repeated key becomes an array. */
export function toQueryRecord(query: QueryPairs): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of query) {
    const existing = record[key];
    record[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return record;
}
