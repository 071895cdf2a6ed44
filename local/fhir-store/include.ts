import type { IncludeTarget, SearchRequest } from '@medplum/core';
import { OperationOutcomeError, Operator, badRequest, getResourceTypes, getSearchParameters } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { keyOf, referencesOf } from './references';
import type { SearchSource } from './search';
import { requireParam } from './search';

/** What include resolution reads: unpaged search plus reads by id. */
export interface IncludeSource extends SearchSource {
  readResource<T extends Resource>(resourceType: string, id: string): Promise<T>;
}

/**
 * How many `:iterate` rounds we follow. R4 search.html#revinclude lets a server bound iteration;
 * without a bound a reference cycle (Patient.link ↔ Patient.link) would never end.
 */
const MAX_ITERATE_ROUNDS = 10;

/**
 * Resolves `_include` / `_revinclude` (with `:iterate`) for one page of matches, which Medplum's
 * MemoryRepository ignores. Returns the extra resources, de-duplicated against the matches.
 * Plain targets apply to the matches only; `:iterate` ones also to whatever was included.
 */
export async function resolveIncludes(
  source: IncludeSource,
  matches: Resource[],
  request: Pick<SearchRequest, 'include' | 'revInclude'>
): Promise<Resource[]> {
  const include = request.include ?? [];
  const revInclude = request.revInclude ?? [];
  include.forEach((t) => requireReferenceParam(t));
  revInclude.forEach((t) => requireReferenceParam(t));

  const seen = new Set(matches.map(keyOf));
  const added: Resource[] = [];
  let frontier = matches;
  let targets = { include, revInclude };
  for (let round = 0; frontier.length > 0 && round <= MAX_ITERATE_ROUNDS; round++) {
    const found = [
      ...(await followIncludes(source, frontier, targets.include)),
      ...(await followRevIncludes(source, frontier, targets.revInclude)),
    ].filter((r) => !seen.has(keyOf(r)) && seen.add(keyOf(r)));
    added.push(...found);
    frontier = found;
    targets = { include: include.filter(isIterate), revInclude: revInclude.filter(isIterate) };
  }
  return added;
}

/** The resources the frontier points at through each `Type:param[:target]`. */
async function followIncludes(source: IncludeSource, frontier: Resource[], targets: IncludeTarget[]): Promise<Resource[]> {
  const result: Resource[] = [];
  for (const target of targets) {
    const param = requireReferenceParam(target);
    for (const resource of frontier.filter((r) => r.resourceType === target.resourceType)) {
      for (const reference of referencesOf(resource, param, source.baseUrl)) {
        const [type, id] = reference.split('/');
        if (target.targetType && type !== target.targetType) {
          continue;
        }
        // A dangling or deleted reference is not an error in a search: it just includes nothing.
        const read = await source.readResource(type, id).catch(() => undefined);
        if (read) {
          result.push(read);
        }
      }
    }
  }
  return result;
}

/** The resources whose `Type:param` points at a member of the frontier. */
async function followRevIncludes(
  source: IncludeSource,
  frontier: Resource[],
  targets: IncludeTarget[]
): Promise<Resource[]> {
  const result: Resource[] = [];
  for (const target of targets) {
    const pointedAt = frontier.filter((r) => !target.targetType || r.resourceType === target.targetType).map(keyOf);
    if (pointedAt.length === 0) {
      continue;
    }
    const filters = [{ code: target.searchParam, operator: Operator.EQUALS, value: pointedAt.join(',') }];
    result.push(...(await source.searchAll({ resourceType: target.resourceType as Resource['resourceType'], filters })));
  }
  return result;
}

function isIterate(target: IncludeTarget): boolean {
  return target.modifier === Operator.ITERATE;
}

function requireReferenceParam(target: IncludeTarget): SearchParameter {
  const param = requireParam(target.resourceType, target.searchParam);
  if (param.type !== 'reference') {
    throw new OperationOutcomeError(badRequest(`${target.resourceType}:${target.searchParam} is not a reference parameter`));
  }
  return param;
}

/**
 * Expands the `*` wildcard of `_include` / `_revinclude` (search.html#include) into explicit
 * `Type:param` values, because Medplum's parser rejects `*`. `*` and `Type:*` mean every reference
 * parameter of the searched (or named) type; for `_revinclude` and `:iterate` `*` means of every type.
 */
export function expandIncludeWildcards(
  searchedType: string,
  key: string,
  values: string[]
): string[] {
  const iterate = key.endsWith(':iterate');
  const reverse = key.startsWith('_revinclude');
  return values.flatMap((value) => {
    if (value === '*') {
      const types = reverse || iterate ? getResourceTypes() : [searchedType];
      return types.flatMap(referenceParamValues);
    }
    if (value.endsWith(':*')) {
      return referenceParamValues(value.slice(0, -2));
    }
    return [value];
  });
}

function referenceParamValues(resourceType: string): string[] {
  return Object.values(getSearchParameters(resourceType) ?? {})
    .filter((p) => p.type === 'reference' && !p.code.startsWith('_'))
    .map((p) => `${resourceType}:${p.code}`);
}
