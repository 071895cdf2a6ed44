/**
 * docs/revocation.md states figures; each is checked here against the code that makes it true,
 * so the page cannot drift from the defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_BACKEND_TOKEN_LIFETIME_SECONDS } from '../../functions/core/client-assertion';
import { linkRevocationSeconds } from '../../functions/core/revocation';
import { USER_AND_MACHINE_TOKEN_VALIDITY } from '../../lib/identity';
import { DEFAULT_FHIRGATE_SETTINGS } from '../../lib/settings';

const doc = readFileSync(join(__dirname, '../../docs/revocation.md'), 'utf8');
const { authorizerCacheTtlSeconds, linkCacheTtlSeconds } = DEFAULT_FHIRGATE_SETTINGS;

test('the cache defaults and the default window (their sum)', () => {
  expect(doc).toContain(`| \`authorizerCacheTtl\` / \`FHIRGATE_AUTHORIZER_CACHE_TTL_SECONDS\` | ${authorizerCacheTtlSeconds} s (`);
  expect(doc).toContain(`| \`linkCacheTtl\` / \`FHIRGATE_LINK_CACHE_TTL_SECONDS\` | ${linkCacheTtlSeconds} s (`);
  const window = linkRevocationSeconds({ authorizerCacheTtlSeconds, linkCacheTtlSeconds });
  expect(doc).toContain(`**${window} s** with the defaults`);
  expect(doc).toContain(`the two caches (${window} s by default)`);
});

test('backend client tokens: the longest lifetime, and with the authorizer cache', () => {
  expect(doc).toContain(`at most ${MAX_BACKEND_TOKEN_LIFETIME_SECONDS} s, \`MAX_BACKEND_TOKEN_LIFETIME_SECONDS\``);
  expect(doc).toContain(`+ the authorizer cache: ${MAX_BACKEND_TOKEN_LIFETIME_SECONDS + authorizerCacheTtlSeconds} s by default`);
});

test('Cognito token lifetime (lib/identity.ts)', () => {
  const minutes = USER_AND_MACHINE_TOKEN_VALIDITY.toMinutes();
  expect(doc.match(/at most (\d+) minutes/g)).toEqual(Array(3).fill(`at most ${minutes} minutes`));
});
