import {
  OperationOutcomeError,
  allOk,
  badRequest,
  isResourceType,
  normalizeOperationOutcome,
  notFound,
  preconditionFailed,
} from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouteHandler, HttpMethod } from '@medplum/fhir-router';
import { FhirRouter } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { IncomingHttpHeaders } from 'node:http';
import { addBundleUrls, addFullUrls } from './bundle-urls';
import { capabilityStatement } from './capability';
import { patientEverything } from './everything';
import { statusForOutcome } from './outcomes';
import type { QueryPairs } from './query';
import { prepareSearchQuery, toQueryRecord } from './query';
import { FhirStoreRepository } from './repository';

/** A request already taken apart by the HTTP layer. */
export interface StoreRequest {
  method: string;
  /** Decoded path segments under the base URL, e.g. `['Patient', 'pat-alice']`; `[]` for the base. */
  segments: string[];
  query: QueryPairs;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, if any. */
  body?: unknown;
  /** An `application/x-www-form-urlencoded` body (POST `_search`). */
  form?: QueryPairs;
}

/** What the HTTP layer writes back. */
export interface StoreResponse {
  status: number;
  headers: Record<string, string>;
  body: Resource;
  /** Sent instead of `body` when set: an export manifest or NDJSON file, already serialized. */
  text?: string;
}

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Medplum's FhirRouter plus the routes it lacks: metadata, type/system history, `$everything`. */
export function createStoreRouter(): FhirRouter {
  const router = new FhirRouter();
  router.add('GET', 'metadata', async () => [allOk, capabilityStatement()], 'operation');
  router.add('GET', '_history', withStore((req, repo) => repo.readSystemHistory(historyOptions(req))), 'history-system');
  router.add(
    'GET',
    ':resourceType/_history',
    withStore((req, repo) => repo.readTypeHistory(req.params.resourceType, historyOptions(req))),
    'history-type'
  );
  router.add(
    'GET',
    'Patient/:id/$everything',
    withStore((req, repo) =>
      patientEverything(repo, req.params.id, {
        types: lastValue(req, '_type')?.split(','),
        count: intValue(req, '_count'),
        offset: intValue(req, '_offset'),
      })
    ),
    'operation'
  );
  return router;
}

/**
 * Serves one request against the store: adapts it to Medplum's FhirRequest, runs the router and
 * turns the result into status, headers and body. Never throws: every failure is an OperationOutcome.
 */
export async function handleStoreRequest(
  router: FhirRouter,
  repo: FhirStoreRepository,
  baseUrl: string,
  request: StoreRequest
): Promise<StoreResponse> {
  try {
    return await dispatch(router, repo, baseUrl, request);
  } catch (err) {
    return outcomeResponse(normalizeOperationOutcome(err));
  }
}

async function dispatch(
  router: FhirRouter,
  repo: FhirStoreRepository,
  baseUrl: string,
  request: StoreRequest
): Promise<StoreResponse> {
  let { method, segments, query, body } = request;
  if (method === 'POST' && segments.length === 1 && segments[0] === '_search') {
    // System-level POST _search: a system search with the parameters in the body (R4 http.html#search).
    method = 'GET';
    segments = [];
    query = [...query, ...(request.form ?? [])];
  }
  const [type, id] = segments;
  if (type !== undefined && type !== 'metadata' && type !== '_history' && !isResourceType(type)) {
    return outcomeResponse(notFound);
  }
  if (method === 'POST' && segments.length === 2 && id === '_search') {
    // POST _search is GET search with the parameters in the body (R4 http.html#search).
    method = 'GET';
    segments = [type];
    query = [...query, ...(request.form ?? [])];
  }
  if (type && isResourceType(type)) {
    query = prepareSearchQuery(type, query);
  }

  const shape = `${method} ${segments.length}`;
  if ((shape === 'PUT 1' || shape === 'DELETE 1' || shape === 'PATCH 1') && query.length === 0) {
    // A conditional write with no criteria would match "every resource of the type" (R4 http.html#cond-update).
    throw new OperationOutcomeError(badRequest(`Conditional ${method} needs search criteria`));
  }
  if (shape === 'POST 1' || shape === 'PUT 1' || shape === 'PUT 2') {
    body = requireResource(body, type);
  }
  if (shape === 'POST 1') {
    // R4 http.html#create: the server SHALL ignore an id in the body of a create.
    const withoutId = { ...(body as Resource) };
    delete withoutId.id;
    body = withoutId;
  } else if (shape === 'POST 0') {
    body = requireResource(body, 'Bundle');
  } else if (method === 'PATCH' && !Array.isArray(body)) {
    throw new OperationOutcomeError(badRequest('PATCH body must be a JSON Patch array (application/json-patch+json)'));
  }
  if ((method === 'PATCH' || method === 'DELETE') && segments.length === 2) {
    // Medplum checks If-Match on PUT only; a proxy needs it on every write to avoid check-then-write races.
    checkIfMatch(repo, type, id, request.headers['if-match']);
  }
  const isCreateByUpdate = shape === 'PUT 2' && !repo.exists(type, id);

  const fhirRequest: FhirRequest = {
    method: method as HttpMethod,
    url: segments.join('/'),
    pathname: '',
    params: {},
    query: toQueryRecord(query),
    body,
    headers: request.headers,
    // Without this flag Medplum processes a `transaction` Bundle as a non-atomic batch.
    config: { transactions: true },
  };
  const [outcome, resource]: FhirResponse = await router.handleRequest(fhirRequest, repo);

  let status = statusForOutcome(outcome);
  if (status === 200 && isCreateByUpdate) {
    status = 201;
  }
  const response = outcomeResponse(outcome, status);
  if (!resource) {
    return response;
  }
  response.body = resource;
  if (resource.resourceType === 'Bundle') {
    decorateBundle(resource, baseUrl, segments.join('/'), query);
  } else if (resource.id && resource.meta?.versionId && status < 300) {
    response.headers['etag'] = `W/"${resource.meta.versionId}"`;
    if (resource.meta.lastUpdated) {
      response.headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201) {
      response.headers['location'] = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  return response;
}

function decorateBundle(bundle: Bundle, baseUrl: string, path: string, query: QueryPairs): void {
  if (bundle.type === 'searchset' || bundle.type === 'history') {
    addBundleUrls(bundle, { baseUrl, path, query });
    return;
  }
  // batch-response / transaction-response: give each written entry its versioned location and ETag.
  for (const entry of bundle.entry ?? []) {
    const written = entry.resource;
    if (written?.id && written.meta?.versionId && entry.response && /^20[01]/.test(entry.response.status)) {
      entry.response.location = `${written.resourceType}/${written.id}/_history/${written.meta.versionId}`;
      entry.response.etag = `W/"${written.meta.versionId}"`;
      entry.response.lastModified = written.meta.lastUpdated;
    }
  }
  addFullUrls(bundle, baseUrl);
}

/** A response whose body is the outcome (replaced by the resource when there is one). */
export function outcomeResponse(outcome: OperationOutcome, status = statusForOutcome(outcome)): StoreResponse {
  return { status, headers: { 'content-type': FHIR_JSON }, body: outcome };
}

function requireResource(body: unknown, resourceType: string): Resource {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new OperationOutcomeError(badRequest(`Body must be a ${resourceType} resource`));
  }
  if ((body as Resource).resourceType !== resourceType) {
    throw new OperationOutcomeError(
      badRequest(`Incorrect resource type: expected ${resourceType}, found ${(body as Resource).resourceType ?? '<none>'}`)
    );
  }
  return body as Resource;
}

function checkIfMatch(repo: FhirStoreRepository, type: string, id: string, header: string | undefined): void {
  const wanted = header && /^(?:W\/)?"([^"]+)"$/.exec(header.trim())?.[1];
  if (header && !wanted) {
    throw new OperationOutcomeError(badRequest('If-Match must be an ETag, e.g. W/"2"'));
  }
  const current = repo.currentVersionId(type, id);
  if (wanted && current !== undefined && current !== wanted) {
    throw new OperationOutcomeError(preconditionFailed);
  }
}

/** Adapts a handler that needs this store's repository to Medplum's route handler type. */
function withStore(handler: (req: FhirRequest, repo: FhirStoreRepository) => Promise<Resource> | Resource): FhirRouteHandler {
  return async (req, repo) => {
    if (!(repo instanceof FhirStoreRepository)) {
      throw new TypeError('This route needs a FhirStoreRepository');
    }
    return [allOk, await handler(req, repo)];
  };
}

function lastValue(req: FhirRequest, key: string): string | undefined {
  const value = req.query[key];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function intValue(req: FhirRequest, key: string): number | undefined {
  const value = lastValue(req, key);
  return value === undefined ? undefined : parseInt(value, 10);
}

function historyOptions(req: FhirRequest): { limit?: number; offset?: number } {
  return { limit: intValue(req, '_count'), offset: intValue(req, '_offset') };
}

