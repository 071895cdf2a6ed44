import type { Filter, SearchRequest, WithId } from '@medplum/core';
import {
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  OperationOutcomeError,
  Operator,
  badRequest,
  getSearchParameter,
  isResourceType,
  parseSearchRequest,
  splitSearchOnComma,
} from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { referencesOf, toLocalReference } from './references';

/** What the search helpers need from the repository: unpaged matching, and the store's own base URL. */
export interface SearchSource {
  readonly baseUrl: string | undefined;
  /** Every resource matching the request: no paging, no includes. */
  searchAll<T extends Resource>(request: SearchRequest<T>): Promise<WithId<T>[]>;
}

/**
 * The modifiers and prefixes Medplum's in-memory matcher really implements, per parameter type.
 * Anything else (`:exact`, `:text`, `:identifier`, `:above`, number/quantity/composite types) it
 * would silently treat as a plain match or as no match, so those are refused with 400 instead.
 */
const supportedOperators: Record<string, readonly Operator[]> = {
  reference: [Operator.EQUALS, Operator.NOT],
  string: [Operator.EQUALS, Operator.CONTAINS],
  uri: [Operator.EQUALS],
  token: [Operator.EQUALS, Operator.NOT, Operator.NOT_EQUALS],
  date: [
    Operator.EQUALS,
    Operator.NOT_EQUALS,
    Operator.GREATER_THAN,
    Operator.LESS_THAN,
    Operator.GREATER_THAN_OR_EQUALS,
    Operator.LESS_THAN_OR_EQUALS,
    Operator.STARTS_AFTER,
    Operator.ENDS_BEFORE,
    Operator.APPROXIMATELY,
  ],
};

/** The page a search asks for: Medplum's defaults (20, at most 1000) and its `_offset` paging. */
export function pageWindow(request: Pick<SearchRequest, 'count' | 'offset'>): { count: number; offset: number } {
  const count = request.count ?? DEFAULT_SEARCH_COUNT;
  const offset = request.offset ?? 0;
  if (!Number.isInteger(count) || count < 0) {
    throw new OperationOutcomeError(badRequest('_count must be a non-negative integer', '_count'));
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new OperationOutcomeError(badRequest('_offset must be a non-negative integer', '_offset'));
  }
  return { count: Math.min(count, DEFAULT_MAX_SEARCH_COUNT), offset };
}

/**
 * Rewrites a parsed search into one Medplum's matcher evaluates correctly, or undefined when a
 * chained or `_has` parameter already rules out every resource. Unknown parameters are a 400
 * (FHIR search.html#errors, "strict" handling) rather than an empty result that hides a typo.
 */
export async function normalizeSearch<T extends Resource>(
  source: SearchSource,
  request: SearchRequest<T>
): Promise<SearchRequest<T> | undefined> {
  if (!isResourceType(request.resourceType)) {
    throw new OperationOutcomeError(badRequest(`Unsupported search type: ${request.resourceType}`));
  }
  const filters: Filter[] = [];
  for (const filter of request.filters ?? []) {
    const normalized = await normalizeFilter(source, request.resourceType, filter);
    if (!normalized) {
      return undefined;
    }
    filters.push(normalized);
  }
  for (const rule of request.sortRules ?? []) {
    requireParam(request.resourceType, rule.code);
  }
  return { ...request, filters };
}

async function normalizeFilter(source: SearchSource, resourceType: string, filter: Filter): Promise<Filter | undefined> {
  if (filter.code.startsWith('_has:')) {
    return resolveHas(source, resourceType, filter);
  }
  if (filter.code.includes('.')) {
    return resolveChain(source, resourceType, filter);
  }
  const param = requireParam(resourceType, filter.code);
  if (filter.operator === Operator.MISSING || filter.operator === Operator.PRESENT) {
    return filter;
  }
  if (!supportedOperators[param.type]?.includes(filter.operator)) {
    throw new OperationOutcomeError(
      badRequest(`Search on ${param.type} parameter '${filter.code}' with '${filter.operator}' is not supported`)
    );
  }
  if (param.type !== 'reference') {
    return filter;
  }
  // Medplum compares reference strings exactly, so `patient=pat-alice` (a bare id, allowed by
  // search.html#reference) and absolute URLs on our own base would never match: expand them.
  const values = splitSearchOnComma(filter.value).flatMap((value) => expandReference(value, param, source.baseUrl));
  return { ...filter, value: values.join(',') };
}

function expandReference(value: string, param: SearchParameter, baseUrl: string | undefined): string[] {
  const local = toLocalReference(value, baseUrl);
  if (local) {
    return [local];
  }
  if (!value.includes('/') && param.target?.length) {
    return param.target.map((type) => `${type}/${value}`);
  }
  return [value];
}

/** `subject:Patient.name=Alice` → `subject=Patient/a,Patient/b` (search.html#chaining). */
async function resolveChain(source: SearchSource, resourceType: string, filter: Filter): Promise<Filter | undefined> {
  const dot = filter.code.indexOf('.');
  const [code, typeModifier] = filter.code.slice(0, dot).split(':');
  const rest = filter.code.slice(dot + 1);
  const param = requireParam(resourceType, code);
  if (param.type !== 'reference') {
    throw new OperationOutcomeError(badRequest(`Cannot chain on non-reference parameter '${code}'`));
  }
  const restCode = rest.split(/[.:]/)[0];
  const targets = (typeModifier ? [typeModifier] : (param.target ?? [])).filter((t) => getSearchParameter(t, restCode));
  if (targets.length === 0) {
    throw new OperationOutcomeError(badRequest(`Unknown chained parameter '${filter.code}'`));
  }
  const references: string[] = [];
  for (const target of targets) {
    const inner = parseSearchRequest(target, { [rest]: filter.value });
    for (const found of await source.searchAll(inner)) {
      references.push(`${target}/${found.id}`);
    }
  }
  return references.length ? { code, operator: Operator.EQUALS, value: references.join(',') } : undefined;
}

/** `Patient?_has:Observation:subject:code=x` → `_id=<patients those Observations point at>` (search.html#has). */
async function resolveHas(source: SearchSource, resourceType: string, filter: Filter): Promise<Filter | undefined> {
  const [, innerType, refCode, ...restParts] = filter.code.split(':');
  const rest = restParts.join(':');
  if (!innerType || !isResourceType(innerType) || !refCode || !rest) {
    throw new OperationOutcomeError(badRequest(`Invalid _has parameter '${filter.code}'`));
  }
  const refParam = requireParam(innerType, refCode);
  if (refParam.type !== 'reference') {
    throw new OperationOutcomeError(badRequest(`_has needs a reference parameter, got '${refCode}'`));
  }
  const ids = new Set<string>();
  for (const found of await source.searchAll(parseSearchRequest(innerType, { [rest]: filter.value }))) {
    for (const reference of referencesOf(found, refParam, source.baseUrl)) {
      if (reference.startsWith(resourceType + '/')) {
        ids.add(reference.slice(resourceType.length + 1));
      }
    }
  }
  return ids.size ? { code: '_id', operator: Operator.EQUALS, value: [...ids].join(',') } : undefined;
}

/** The search parameter definition, or a 400 naming the unknown parameter. */
export function requireParam(resourceType: string, code: string): SearchParameter {
  const param = getSearchParameter(resourceType, code);
  if (!param) {
    throw new OperationOutcomeError(badRequest(`Unknown search parameter '${code}' for ${resourceType}`, code));
  }
  return param;
}
