/**
 * Link records (user `sub` → role, fhirUser, patients) from DynamoDB, behind a short TTL cache.
 *
 * Fail closed: a DynamoDB error propagates as DependencyError (the authorizer crashes the
 * request, API Gateway answers 5xx); it is never read as "no link" and never cached.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DependencyError } from '../core/errors';
import { LinkRecord, parseLinkRecord } from '../core/principal';
import { getItem } from './dynamo-item';

export interface LinkStore {
  get(sub: string): Promise<LinkRecord | undefined>;
}

/** GetItem by `sub` on the links table. Item attributes: sub (S), role (S), fhirUser (S), patients (L of S, or SS), disabledAt (S, when disabled). */
export class DynamoLinkStore implements LinkStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(sub: string): Promise<LinkRecord | undefined> {
    const item = await getItem(this.client, this.tableName, { sub: { S: sub } }, 'link lookup');
    return item ? parseLinkRecord(linkItemValues(item)) : undefined;
  }
}

/**
 * A LinkStore built on its first lookup: the authorizer's entry builds the DynamoDB client this
 * way, so a container that only ever serves machine tokens never loads it. A failed build is not
 * kept (the next lookup tries again) and fails the lookup closed, as a DynamoDB error does.
 */
export class LazyLinkStore implements LinkStore {
  private store?: Promise<LinkStore>;

  constructor(private readonly build: () => Promise<LinkStore>) {}

  async get(sub: string): Promise<LinkRecord | undefined> {
    this.store ??= this.build();
    let store: LinkStore;
    try {
      store = await this.store;
    } catch (err) {
      this.store = undefined;
      throw new DependencyError('ERR_DEPENDENCY_FAILED', `link store could not be loaded (${err instanceof Error ? err.name : 'unknown'})`);
    }
    return store.get(sub);
  }
}

/**
 * Plain values from a link item: S, SS and L of S as strings; any other shape as `null`, so a
 * known attribute of the wrong type is refused by `parseLinkRecord` rather than read as absent
 * (a `disabledAt` written as a number must not leave the user enabled). The admin CLI reads items
 * the same way, so it sees exactly what the authorizer sees.
 */
export function linkItemValues(item: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (value.S !== undefined) out[key] = value.S;
    else if (value.SS !== undefined) out[key] = value.SS;
    else if (value.L !== undefined) out[key] = value.L.map((v) => v.S);
    else out[key] = null;
  }
  return out;
}

/**
 * In-memory TTL cache in front of a LinkStore. Misses are cached too (a flood of tokens for an
 * unlinked user costs one read per TTL); errors are not. Changes to links therefore take effect
 * within `ttlMs` — the admin CLI says so.
 */
export class CachedLinkStore implements LinkStore {
  private readonly entries = new Map<string, { value: LinkRecord | undefined; expires: number }>();

  constructor(
    private readonly inner: LinkStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(sub: string): Promise<LinkRecord | undefined> {
    const hit = this.entries.get(sub);
    const t = this.now();
    if (hit && hit.expires > t) return hit.value;
    const value = await this.inner.get(sub);
    if (this.entries.size >= this.maxEntries) this.entries.clear(); // bounded memory under sub-spraying
    this.entries.set(sub, { value, expires: t + this.ttlMs });
    return value;
  }
}
