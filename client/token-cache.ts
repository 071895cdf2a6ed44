/**
 * A cache of access tokens, each kept until shortly before it expires. One request per key is in
 * flight at a time (concurrent callers share it); failures are never cached; the number of
 * entries is bounded (least recently used first out).
 *
 * Why: an API server that exchanges a token on every FHIR call pays one KMS Sign and one extra
 * round trip each time, and every new token misses the gateway's authorizer cache (it is keyed by
 * token), so the authorizer runs again too.
 */

/** What a token endpoint answered (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string;
  /** Seconds the token lives. Without it the token is used once and not cached. */
  readonly expires_in?: number;
}

export interface TokenCacheOptions {
  /**
   * Seconds before expiry at which a cached token is no longer handed out: it must still be
   * valid when the request that carries it arrives.
   * @default 30
   */
  readonly refreshBeforeSeconds?: number;
  /** @default 1000 */
  readonly maxEntries?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly token: string;
  /** Milliseconds: hand it out until then. */
  readonly freshUntil: number;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly refreshBeforeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: TokenCacheOptions = {}) {
    const refresh = options.refreshBeforeSeconds ?? 30;
    const max = options.maxEntries ?? 1000;
    if (!(Number.isFinite(refresh) && refresh >= 0)) throw new TypeError('TokenCache: refreshBeforeSeconds must be a non-negative number');
    if (!(Number.isInteger(max) && max >= 1)) throw new TypeError('TokenCache: maxEntries must be a positive integer');
    this.refreshBeforeMs = refresh * 1000;
    this.maxEntries = max;
    this.now = options.now ?? Date.now;
  }

  /** The cached token for `key`, or a new one from `request` (which is called at most once at a time per key). */
  async get(key: string, request: () => Promise<TokenResponse>): Promise<string> {
    const entry = this.entries.get(key);
    if (entry && this.now() < entry.freshUntil) {
      // Re-insert: Map order is the LRU order.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.token;
    }
    this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const started = this.now();
    const next = request()
      .then((response) => {
        this.store(key, response, started);
        return response.access_token;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, next);
    return next;
  }

  /** Forget a token (e.g. after the FHIR API answered 401 with it). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, response: TokenResponse, started: number): void {
    if (typeof response.access_token !== 'string' || response.access_token === '') throw new TypeError('token response has no access_token');
    const lifetime = response.expires_in;
    if (typeof lifetime !== 'number' || !Number.isFinite(lifetime)) return; // unknown lifetime: use once
    // Counted from when the request was sent, not when the answer came: never later than the server's clock.
    const freshUntil = started + lifetime * 1000 - this.refreshBeforeMs;
    if (freshUntil <= this.now()) return;
    this.entries.set(key, { token: response.access_token, freshUntil });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
