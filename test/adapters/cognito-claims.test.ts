/**
 * functions/adapters/cognito-claims.ts restates two pieces of aws-jwt-verify so the bundles need
 * not load its Cognito verifier class: they must answer exactly as the originals do, errors
 * included. The originals are the oracle here (tests may import anything).
 */
import { CognitoJwtVerifier, validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import fc from 'fast-check';
import { assertCognitoAccessClaims, cognitoIssuer } from '../../functions/adapters/cognito-claims';

/** What a call did: its value, or the class and message of what it threw. */
function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (err) {
    return { threw: (err as Error).constructor.name, message: (err as Error).message };
  }
}

describe('cognitoIssuer = CognitoJwtVerifier.parseUserPoolId', () => {
  test.each([
    'us-east-1_AbC123',
    'eu-west-3_x',
    'us-gov-west-1_Pool9',
    'eusc-de-east-1_Abc',
    'us-east-1',
    'us-east-1_',
    'us-east-1_ab-c',
    'US-EAST-1_abc',
    '',
    'us-east-1_abc/../x',
  ])('%j', (id) => {
    expect(outcome(() => cognitoIssuer(id))).toEqual(outcome(() => CognitoJwtVerifier.parseUserPoolId(id)));
  });
});

describe('assertCognitoAccessClaims = validateCognitoJwtFields(payload, { tokenUse: "access", clientId })', () => {
  const clients = ['web', 'api-server'];
  const check = (payload: JwtPayload) =>
    expect(outcome(() => assertCognitoAccessClaims(payload, clients))).toEqual(outcome(() => validateCognitoJwtFields(payload, { tokenUse: 'access', clientId: clients })));

  test.each([
    ['an access token of a listed client', { token_use: 'access', client_id: 'web' }],
    ['an ID token', { token_use: 'id', aud: 'web' }],
    ['no token_use', { client_id: 'web' }],
    ['token_use of another kind', { token_use: 'refresh', client_id: 'web' }],
    ['token_use not a string', { token_use: ['access'], client_id: 'web' }],
    ['a client not listed', { token_use: 'access', client_id: 'other' }],
    ['no client_id', { token_use: 'access' }],
    ['client_id not a string', { token_use: 'access', client_id: ['web'] }],
    ['an empty client_id', { token_use: 'access', client_id: '' }],
  ] as [string, JwtPayload][])('%s', (_name, payload) => check(payload));

  test('any token_use and client_id values', () => {
    const value = fc.oneof(fc.constantFrom('access', 'id', 'web', 'api-server', ''), fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }));
    fc.assert(
      fc.property(fc.option(value, { nil: undefined }), fc.option(value, { nil: undefined }), (tokenUse, clientId) => {
        const payload: Record<string, unknown> = {};
        if (tokenUse !== undefined) payload.token_use = tokenUse;
        if (clientId !== undefined) payload.client_id = clientId;
        check(payload as JwtPayload);
      }),
    );
  });
});
