import type { SearchRequest, WithId } from '@medplum/core';
import {
  OperationOutcomeError,
  badRequest,
  deepClone,
  gone,
  normalizeOperationOutcome,
  notFound,
  validateResource,
} from '@medplum/core';
import type { ReadHistoryOptions } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from './definitions';
import { resolveIncludes } from './include';
import { normalizeSearch, pageWindow } from './search';
import type { SearchSource } from './search';

/** One version of one resource, in the order the store wrote them (R4 http.html#history). */
interface VersionEntry {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  method: 'POST' | 'PUT' | 'DELETE';
  /** The stored body; absent for a delete. */
  resource?: WithId<Resource>;
}

/**
 * The two maps Medplum's MemoryRepository keeps private. A transaction has to snapshot and
 * restore them (Medplum's withTransaction() just runs the callback, so a failed transaction would
 * leave its earlier entries written); the constructor checks they exist so an upgrade that
 * renames them fails loudly instead of silently losing atomicity.
 */
interface MemoryRepositoryInternals {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
}

interface Snapshot {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
  logLength: number;
  latest: Map<string, VersionEntry>;
}

/**
 * Medplum's MemoryRepository made to behave like a FHIR server's store (HealthLake in tests):
 * sequential version ids, validated writes, deletes that leave a tombstone (410) and a history
 * entry, atomic transactions, history with paging, type/system history, and searches that
 * understand bare-id references, chains, `_has`, `_include`/`_revinclude` and default paging.
 */
export class FhirStoreRepository extends MemoryRepository implements SearchSource {
  /** The store's public base URL, so absolute references to it are read as local ones. */
  baseUrl: string | undefined;
  private readonly log: VersionEntry[] = [];
  private readonly latest = new Map<string, VersionEntry>();
  private transactionDepth = 0;

  constructor() {
    loadFhirDefinitions();
    super();
    const internals = this.internals();
    if (!(internals.resources instanceof Map) || !(internals.history instanceof Map)) {
      throw new TypeError('MemoryRepository internals changed: transactions cannot be made atomic');
    }
  }

  override clear(): void {
    super.clear();
    this.log.length = 0;
    this.latest.clear();
  }

  /** Create, or (through MemoryRepository.updateResource) update: validates and numbers the version. */
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    assertValid(resource);
    const id = resource.id ?? this.generateId();
    const key = `${resource.resourceType}/${id}`;
    const previous = this.latest.get(key);
    const versionId = String(previous ? Number(previous.versionId) + 1 : 1);
    const lastUpdated = new Date().toISOString();
    const stored = await super.createResource<T>({ ...resource, id, meta: { ...resource.meta, versionId, lastUpdated } });
    this.record({ resourceType: resource.resourceType, id, versionId, lastUpdated, method: previous ? 'PUT' : 'POST', resource: deepClone(stored) as WithId<Resource> });
    return stored;
  }

  /** Deleting a deleted resource succeeds (R4 http.html#delete); deleting one never created is 404. */
  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = this.latest.get(`${resourceType}/${id}`);
    if (previous?.method === 'DELETE') {
      return;
    }
    await super.deleteResource(resourceType, id);
    const versionId = String(Number(previous?.versionId ?? 0) + 1);
    this.record({ resourceType, id, versionId, lastUpdated: new Date().toISOString(), method: 'DELETE' });
  }

  /** A deleted resource reads as 410 Gone, not 404 (R4 http.html#read). */
  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    if (this.latest.get(`${resourceType}/${id}`)?.method === 'DELETE') {
      throw new OperationOutcomeError(gone);
    }
    return super.readResource<T>(resourceType, id);
  }

  /** Whether a live (not deleted) resource exists. */
  exists(resourceType: string, id: string): boolean {
    const latest = this.latest.get(`${resourceType}/${id}`);
    return latest !== undefined && latest.method !== 'DELETE';
  }

  /** The current version id of a live resource. */
  currentVersionId(resourceType: string, id: string): string | undefined {
    return this.exists(resourceType, id) ? this.latest.get(`${resourceType}/${id}`)?.versionId : undefined;
  }

  override async readVersion<T extends Resource>(resourceType: string, id: string, versionId: string): Promise<T> {
    const version = this.log.find((v) => v.resourceType === resourceType && v.id === id && v.versionId === versionId);
    if (!version) {
      throw new OperationOutcomeError(notFound);
    }
    if (!version.resource) {
      throw new OperationOutcomeError(gone);
    }
    return deepClone(version.resource) as unknown as T;
  }

  /**
   * Instance history, newest first, deletes included, paged with `_count`/`_offset`.
   * Replaces MemoryRepository.readHistory, which reverses its stored array in place (so every
   * other call returns oldest-first) and hides the history of a deleted resource behind a 404.
   */
  override async readHistory<T extends Resource>(
    resourceType: string,
    id: string,
    options?: ReadHistoryOptions
  ): Promise<Bundle<WithId<T>>> {
    if (!this.latest.has(`${resourceType}/${id}`)) {
      throw new OperationOutcomeError(notFound);
    }
    return this.historyBundle((v) => v.resourceType === resourceType && v.id === id, options) as Bundle<WithId<T>>;
  }

  /** Type history (`GET Patient/_history`), which Medplum's router does not route at all. */
  readTypeHistory(resourceType: string, options?: ReadHistoryOptions): Bundle {
    return this.historyBundle((v) => v.resourceType === resourceType, options);
  }

  /** System history (`GET _history`). */
  readSystemHistory(options?: ReadHistoryOptions): Bundle {
    return this.historyBundle(() => true, options);
  }

  private historyBundle(select: (v: VersionEntry) => boolean, options?: ReadHistoryOptions): Bundle {
    const versions = this.log.filter(select).reverse();
    const { count, offset } = pageWindow({ count: options?.limit, offset: options?.offset });
    const entry: BundleEntry[] = versions.slice(offset, offset + count).map((v) => ({
      ...(v.resource ? { resource: deepClone(v.resource) } : {}),
      request: { method: v.method, url: v.method === 'POST' ? v.resourceType : `${v.resourceType}/${v.id}` },
      response: {
        status: v.method === 'POST' ? '201 Created' : v.method === 'PUT' ? '200 OK' : '204 No Content',
        etag: `W/"${v.versionId}"`,
        lastModified: v.lastUpdated,
      },
    }));
    return { resourceType: 'Bundle', type: 'history', total: versions.length, ...(entry.length ? { entry } : {}) };
  }

  /**
   * One page of matches (`entry.search.mode = 'match'`) followed by their `_include`/`_revinclude`
   * resources (`mode = 'include'`). `total` counts matches only, as R4 Bundle.total says.
   */
  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const { count, offset } = pageWindow(request);
    const normalized = await normalizeSearch(this, request);
    if (!normalized) {
      return { resourceType: 'Bundle', type: 'searchset', total: 0 };
    }
    const page = await super.search<T>({ ...normalized, count, offset, include: undefined, revInclude: undefined });
    const matches = (page.entry ?? []).map((e) => e.resource as WithId<T>);
    const included = await resolveIncludes(this, matches, request);
    const entry: BundleEntry<WithId<T>>[] = [
      ...matches.map((resource) => ({ resource, search: { mode: 'match' as const } })),
      ...included.map((resource) => ({ resource: resource as WithId<T>, search: { mode: 'include' as const } })),
    ];
    return { resourceType: 'Bundle', type: 'searchset', total: page.total, ...(entry.length ? { entry } : {}) };
  }

  /** Every match, unpaged and without includes: for chains, `_has`, includes and `$everything`. */
  async searchAll<T extends Resource>(request: SearchRequest<T>): Promise<WithId<T>[]> {
    const normalized = await normalizeSearch(this, request);
    if (!normalized) {
      return [];
    }
    const all = await super.search<T>({ ...normalized, count: undefined, offset: undefined, include: undefined, revInclude: undefined });
    return (all.entry ?? []).map((e) => e.resource as WithId<T>);
  }

  /**
   * Runs a transaction atomically: on any error every write it made is undone.
   * Nested calls (a conditional create inside a transaction) join the outer one. The server applies
   * requests one at a time, so no other request's write can land between snapshot and restore.
   */
  override async withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.transactionDepth > 0) {
      return callback(undefined);
    }
    const snapshot = this.snapshot();
    this.transactionDepth++;
    try {
      return await callback(undefined);
    } catch (err) {
      this.restore(snapshot);
      throw err;
    } finally {
      this.transactionDepth--;
    }
  }

  /** Resource types with at least one current resource, sorted (system-level `$export`). */
  storedTypes(): string[] {
    return [...this.internals().resources].filter(([, byId]) => byId.size > 0).map(([type]) => type).sort();
  }

  private record(version: VersionEntry): void {
    this.log.push(version);
    this.latest.set(`${version.resourceType}/${version.id}`, version);
  }

  private internals(): MemoryRepositoryInternals {
    return this as unknown as MemoryRepositoryInternals;
  }

  private snapshot(): Snapshot {
    const { resources, history } = this.internals();
    return {
      // Stored resource objects are never mutated in place (writes replace them), so copying the
      // maps and history arrays is enough to restore the exact prior state.
      resources: new Map([...resources].map(([type, byId]) => [type, new Map(byId)])),
      history: new Map([...history].map(([type, byId]) => [type, new Map([...byId].map(([id, v]) => [id, [...v]]))])),
      logLength: this.log.length,
      latest: new Map(this.latest),
    };
  }

  private restore(snapshot: Snapshot): void {
    const { resources, history } = this.internals();
    resources.clear();
    snapshot.resources.forEach((byId, type) => resources.set(type, byId));
    history.clear();
    snapshot.history.forEach((byId, type) => history.set(type, byId));
    this.log.length = snapshot.logLength;
    this.latest.clear();
    snapshot.latest.forEach((v, k) => this.latest.set(k, v));
  }
}

/** Rejects what HealthLake would reject: unknown types and bodies that break the R4 StructureDefinitions. */
function assertValid(resource: Resource): void {
  if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') {
    throw new OperationOutcomeError(badRequest('Body is not a FHIR resource'));
  }
  try {
    validateResource(resource);
  } catch (err) {
    throw new OperationOutcomeError(normalizeOperationOutcome(err));
  }
}

