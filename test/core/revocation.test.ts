/**
 * The revocation window: what `fhirgate whoami` and every CLI change state, per principal kind.
 */
import { linkRevocationSeconds, revocationWindow } from '../../functions/core/revocation';

const ttls = { authorizerCacheTtlSeconds: 300, linkCacheTtlSeconds: 60 };

test.each(['patient', 'guardian', 'practitioner', 'delegated'] as const)('%s: checked online, the two caches (300 + 60 s), whatever the token has left', (kind) => {
  expect(revocationWindow(kind, ttls, 3000)).toEqual({ seconds: 360, checkedOnline: true, explanation: 'the authorizer cache TTL (300 s) + the link cache TTL (60 s)' });
});

test('system: not checked online, the token lifetime left (rounded up) + the authorizer cache', () => {
  expect(revocationWindow('system', ttls, 119.2)).toEqual({ seconds: 420, checkedOnline: false, explanation: "not checked online: the token's remaining lifetime (120 s) + the authorizer cache TTL (300 s)" });
  expect(revocationWindow('system', ttls, -5).seconds).toBe(300);
});

test('no caches: a link change is seen at the next request', () => {
  expect(linkRevocationSeconds({ authorizerCacheTtlSeconds: 0, linkCacheTtlSeconds: 0 })).toBe(0);
});
