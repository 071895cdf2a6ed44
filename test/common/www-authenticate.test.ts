/**
 * RFC 6750 §3 challenges, from the one definition (functions/common/www-authenticate.ts), as the
 * local API Gateway emulation sends them (the proxy's: test/fhir-proxy/responses.test.ts). The CDK gateway responses are checked
 * against the same constants in test/cdk/stack.test.ts.
 */
import { fhirPolicy } from '../../functions/authorizer/policy';
import { bearerChallenge, GATEWAY_CHALLENGES } from '../../functions/common/www-authenticate';
import { GatewayEmulator } from '../../local/gateway/gateway';

const gateway = (authorizer: ConstructorParameters<typeof GatewayEmulator>[0]['authorizer']) =>
  new GatewayEmulator({ domainName: 'gw.test', authorizerCacheTtlSeconds: 0, authorizer, proxy: async () => ({ statusCode: 200, body: '{}' }) });
const get = (g: GatewayEmulator, authorization?: string) =>
  g.handle({ method: 'GET', path: '/fhir/Patient', query: [], headers: authorization ? { authorization } : {} });

test.each([
  // no token at all: a challenge without an error code (§3.1 "SHOULD NOT include an error code")
  ['no token', undefined, async () => { throw new Error('not called'); }, 401, 'Bearer realm="fhirgate"'],
  // the authorizer refused the token
  ['a refused token', 'Bearer bad', async () => { throw new Error('Unauthorized'); }, 401, GATEWAY_CHALLENGES.unauthorized],
  // a valid token the authorizer denies (no scope covers the API)
  ['a Deny', 'Bearer ok', async (e: { methodArn: string }) => fhirPolicy('Deny', 'u', e.methodArn, { reason: 'no scope' }), 403, GATEWAY_CHALLENGES.accessDenied],
] as const)('local gateway, %s → %s with the challenge and no-store', async (_name, authorization, authorizer, status, challenge) => {
  const r = await get(gateway(authorizer as never), authorization);
  expect({ status: r.status, challenge: r.headers['www-authenticate'], cache: r.headers['cache-control'] }).toEqual({ status, challenge, cache: 'no-store' });
});

test('error_description cannot break out of its quoted string', () => {
  expect(bearerChallenge('invalid_token', 'a "quoted" \\ thing\né')).toBe('Bearer realm="fhirgate", error="invalid_token", error_description="a quoted  thing"');
});
