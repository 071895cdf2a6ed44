/** TokenCache with an injected clock: reuse until shortly before expiry, one request at a time, failures not kept, bounded. */
import { TokenCache } from '../../client/token-cache';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

test('a token is reused until refreshBeforeSeconds before it expires, then requested again', async () => {
  const c = clock();
  const cache = new TokenCache({ now: c.now, refreshBeforeSeconds: 30 });
  let issued = 0;
  const request = async () => ({ access_token: `t${++issued}`, expires_in: 300 });
  expect(await cache.get('alice', request)).toBe('t1');
  c.advance(269);
  expect(await cache.get('alice', request)).toBe('t1'); // 31 s left
  c.advance(1);
  expect(await cache.get('alice', request)).toBe('t2'); // 30 s left: too close, a new one
  expect(issued).toBe(2);
});

test('keys are independent', async () => {
  const cache = new TokenCache({ now: clock().now });
  expect(await cache.get('alice pat-alice', async () => ({ access_token: 'a', expires_in: 300 }))).toBe('a');
  expect(await cache.get('dana pat-carol', async () => ({ access_token: 'd', expires_in: 300 }))).toBe('d');
  expect(await cache.get('alice pat-alice', async () => ({ access_token: 'x', expires_in: 300 }))).toBe('a');
});

test('concurrent callers of one key share one request', async () => {
  const cache = new TokenCache({ now: clock().now });
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const request = async () => {
    calls += 1;
    await gate;
    return { access_token: 'shared', expires_in: 300 };
  };
  const all = Promise.all([cache.get('k', request), cache.get('k', request), cache.get('k', request)]);
  release();
  expect(await all).toEqual(['shared', 'shared', 'shared']);
  expect(calls).toBe(1);
});

test('a failure is not cached: the next call asks again', async () => {
  const cache = new TokenCache({ now: clock().now });
  await expect(cache.get('k', async () => Promise.reject(new Error('invalid_grant')))).rejects.toThrow('invalid_grant');
  expect(await cache.get('k', async () => ({ access_token: 'ok', expires_in: 300 }))).toBe('ok');
});

test('a token without expires_in, or too short-lived, is used once and not kept', async () => {
  const cache = new TokenCache({ now: clock().now, refreshBeforeSeconds: 30 });
  let n = 0;
  expect(await cache.get('k', async () => ({ access_token: `a${++n}` }))).toBe('a1');
  expect(await cache.get('k', async () => ({ access_token: `a${++n}` }))).toBe('a2');
  expect(await cache.get('s', async () => ({ access_token: `s${++n}`, expires_in: 20 }))).toBe('s3');
  expect(await cache.get('s', async () => ({ access_token: `s${++n}`, expires_in: 20 }))).toBe('s4');
  expect(cache.size).toBe(0);
});

test('lifetime counts from when the request was sent (a slow endpoint cannot stretch it)', async () => {
  const c = clock();
  const cache = new TokenCache({ now: c.now, refreshBeforeSeconds: 0 });
  await cache.get('k', async () => {
    c.advance(100); // the endpoint took 100 s to answer
    return { access_token: 'slow', expires_in: 300 };
  });
  c.advance(199);
  expect(await cache.get('k', async () => ({ access_token: 'new', expires_in: 300 }))).toBe('slow');
  c.advance(1); // 300 s after the request was sent
  expect(await cache.get('k', async () => ({ access_token: 'new', expires_in: 300 }))).toBe('new');
});

test('bounded: the least recently used entry leaves first', async () => {
  const cache = new TokenCache({ now: clock().now, maxEntries: 2 });
  const t = (v: string) => async () => ({ access_token: v, expires_in: 300 });
  await cache.get('a', t('a'));
  await cache.get('b', t('b'));
  await cache.get('a', t('a2')); // a used again
  await cache.get('c', t('c')); // b goes
  expect(cache.size).toBe(2);
  expect(await cache.get('a', t('a3'))).toBe('a');
  expect(await cache.get('b', t('b2'))).toBe('b2');
});

test('delete forgets a token (after a 401 with it)', async () => {
  const cache = new TokenCache({ now: clock().now });
  await cache.get('k', async () => ({ access_token: 'old', expires_in: 300 }));
  cache.delete('k');
  expect(await cache.get('k', async () => ({ access_token: 'new', expires_in: 300 }))).toBe('new');
});
