/**
 * The README's SMART Backend Services example, verbatim, run against the token service over real
 * HTTP on 127.0.0.1 (registry and replay store in dynalite): if this breaks, so does the README.
 */
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import { createTokenServiceHandler } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { DynamoClientRegistry } from '../../functions/token-exchange/client-registry';
import { DynamoReplayStore } from '../../functions/token-exchange/replay-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DynamoLinkStore } from '../../functions/adapters/link-store';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { decodeJwt, startTokenServiceServer, TokenServiceServer } from './support';

// ---- README example (begin) ----
const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A SMART Backend Services token: sign a one-time assertion with the client's ES384 key, trade it at /auth/token. */
async function backendToken(tokenUrl: string, clientId: string, kid: string, privateKeyPem: string, scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: clientId, sub: clientId, aud: tokenUrl, exp: now + 60, jti: randomUUID() }; // exp ≤ 5 min; jti once
  const input = `${b64url({ alg: 'ES384', kid, typ: 'JWT' })}.${b64url(claims)}`;
  const signature = sign('sha384', Buffer.from(input), { key: createPrivateKey(privateKeyPem), dsaEncoding: 'ieee-p1363' });
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: `${input}.${signature.toString('base64url')}`,
      scope,
    }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || !body.access_token) throw new Error(`token refused: ${body.error}: ${body.error_description}`);
  return body.access_token; // ≤ 300 s and no refresh token: reuse it until expires_in, then sign a new assertion
}
// ---- README example (end) ----

let dynamo: TestDynamo;
let service: TokenServiceServer;

beforeAll(async () => {
  dynamo = await startDynalite();
  service = await startTokenServiceServer();
});
afterAll(async () => {
  await service.close();
  await dynamo.close();
});

test('the README example gets a system/ token', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const kid = 'sync-2025-01';
  const tables = { clients: 'clients', replay: 'replay' };
  await createClientTables(dynamo.client, tables);
  await putBackendClient(dynamo.client, tables.clients, {
    clientId: 'sync-job',
    status: 'active',
    keys: { kind: 'jwks', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' }] } },
    scopes: ['system/Observation.rs', 'system/Patient.rs'],
  });
  const tokenUrl = `${service.issuer}/token`;
  service.handler = createTokenServiceHandler({
    verifier: createLoopbackVerifier({ issuers: [{ kind: 'cognito-compatible', issuer: 'http://127.0.0.1:1/pool', jwksUri: 'http://127.0.0.1:1/jwks' }], clientIds: [] }),
    links: new DynamoLinkStore(dynamo.client, dynamo.tableName),
    clients: { userClientIds: [], machineClientIds: [], backendClientIds: ['sync-job'] },
    settings: DEFAULT_SETTINGS,
    policy: { issuer: service.issuer, audience: 'https://api.example.test/fhir', delegationScope: 'fhirgate/delegate', delegableScopes: ['patient/*.rs'], lifetimeSeconds: 300 },
    signer: createLocalSigner(),
    log: () => undefined,
    clientCredentials: { registry: new DynamoClientRegistry(dynamo.client, tables.clients), replay: new DynamoReplayStore(dynamo.client, tables.replay), tokenUrl },
  });

  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const token = await backendToken(tokenUrl, 'sync-job', kid, pem, 'system/Observation.rs');
  expect(decodeJwt(token).payload).toMatchObject({ sub: 'sync-job', client_id: 'sync-job', scope: 'system/Observation.rs' });
  await expect(backendToken(tokenUrl, 'sync-job', kid, pem, 'system/Condition.rs')).rejects.toThrow(/invalid_scope/);
});
