/**
 * The link cache: hits within the TTL, a re-read after it, errors never cached.
 * The inner store is a fake at the adapter boundary; the clock is injected.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CachedLinkStore, LazyLinkStore, LinkStore, linkItemValues } from '../../functions/adapters/link-store';
import { DependencyError } from '../../functions/core/errors';
import { LinkRecord, parseLinkRecord } from '../../functions/core/principal';

const alice: LinkRecord = { sub: 'u-alice', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] };

function countingStore(results: (LinkRecord | undefined | Error)[]): LinkStore & { calls: number } {
  const store = {
    calls: 0,
    async get() {
      const r = results[Math.min(store.calls, results.length - 1)];
      store.calls += 1;
      if (r instanceof Error) throw r;
      return r;
    },
  };
  return store;
}

test('serves from cache within the TTL and re-reads after it', async () => {
  let now = 1_000;
  const inner = countingStore([alice, { ...alice, patients: [] }]);
  const cache = new CachedLinkStore(inner, 60_000, () => now);
  expect(await cache.get('u-alice')).toEqual(alice);
  now += 59_999;
  expect(await cache.get('u-alice')).toEqual(alice);
  expect(inner.calls).toBe(1);
  now += 1;
  expect(await cache.get('u-alice')).toEqual({ ...alice, patients: [] });
  expect(inner.calls).toBe(2);
});

test('caches a miss (no link) for the TTL', async () => {
  const inner = countingStore([undefined]);
  const cache = new CachedLinkStore(inner, 60_000, () => 0);
  expect(await cache.get('u-x')).toBeUndefined();
  expect(await cache.get('u-x')).toBeUndefined();
  expect(inner.calls).toBe(1);
});

test('never caches an error: the next call asks again', async () => {
  const inner = countingStore([new DependencyError('ERR_DEPENDENCY_FAILED', 'down'), alice]);
  const cache = new CachedLinkStore(inner, 60_000, () => 0);
  await expect(cache.get('u-alice')).rejects.toThrow('down');
  expect(await cache.get('u-alice')).toEqual(alice);
  expect(inner.calls).toBe(2);
});

test('memory stays bounded under a spray of distinct subs', async () => {
  const inner = countingStore([undefined]);
  const cache = new CachedLinkStore(inner, 60_000, () => 0, 100);
  for (let i = 0; i < 1000; i++) await cache.get(`u-${i}`);
  expect((cache as unknown as { entries: Map<string, unknown> }).entries.size).toBeLessThanOrEqual(100);
});

describe('DynamoDB items as the authorizer reads them (linkItemValues → parseLinkRecord)', () => {
  // `links disable` writes `disabledAt` as S; any other shape must not read as "not disabled".
  const item = (disabledAt?: AttributeValue): Record<string, AttributeValue> => ({
    sub: { S: 'u-alice' },
    role: { S: 'patient' },
    fhirUser: { S: 'Patient/pat-alice' },
    patients: { L: [{ S: 'pat-alice' }] },
    ...(disabledAt ? { disabledAt } : {}),
  });
  const read = (i: Record<string, AttributeValue>) => parseLinkRecord(linkItemValues(i));

  test('no marker → enabled; an S marker → kept', () => {
    expect(read(item()).disabledAt).toBeUndefined();
    expect(read(item({ S: '2026-01-02T03:04:05.000Z' })).disabledAt).toBe('2026-01-02T03:04:05.000Z');
  });
  test.each([
    ['a number', { N: '1767322245' }],
    ['a boolean', { BOOL: true }],
    ['NULL', { NULL: true }],
  ])('a marker written as %s → ERR_LINK_INVALID (refused), never enabled', (_name, value) => {
    expect(() => read(item(value as AttributeValue))).toThrow(expect.objectContaining({ code: 'ERR_LINK_INVALID' }));
  });
});

describe('LazyLinkStore: the DynamoDB client is built on the first lookup, not at cold start', () => {
  test('builds nothing until asked, then once', async () => {
    let builds = 0;
    const inner = countingStore([alice]);
    const lazy = new LazyLinkStore(async () => {
      builds += 1;
      return inner;
    });
    expect(builds).toBe(0);
    expect(await Promise.all([lazy.get('u-alice'), lazy.get('u-alice')])).toEqual([alice, alice]);
    expect(await lazy.get('u-alice')).toEqual(alice);
    expect({ builds, calls: inner.calls }).toEqual({ builds: 1, calls: 3 });
  });

  test('a failed build fails the lookup closed (DependencyError, never "no link") and is tried again next time', async () => {
    let builds = 0;
    const lazy = new LazyLinkStore(async () => {
      builds += 1;
      if (builds === 1) throw new Error('Cannot find module @aws-sdk/client-dynamodb');
      return countingStore([alice]);
    });
    await expect(lazy.get('u-alice')).rejects.toBeInstanceOf(DependencyError);
    expect(await lazy.get('u-alice')).toEqual(alice);
    expect(builds).toBe(2);
  });
});
