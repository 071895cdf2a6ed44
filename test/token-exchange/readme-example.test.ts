/**
 * The documented SMART Backend Services example (docs/patterns/backend-services.md), read from the
 * page and run verbatim against the token service over real HTTP on 127.0.0.1 (registry and
 * replay store in dynalite): if this breaks, so does the page.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createClientTables, putBackendClient } from '../../functions/token-exchange/client-tables';
import { createTokenServiceHandler } from '../../functions/token-exchange/handler';
import { createLocalSigner } from '../../functions/token-exchange/local-signer';
import { DynamoClientRegistry } from '../../functions/token-exchange/client-registry';
import { DynamoReplayStore } from '../../functions/token-exchange/replay-store';
import { createLoopbackVerifier } from '../support/loopback-verifier';
import { DynamoLinkStore } from '../../functions/adapters/link-store';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { evaluateTs, runnableBlocks } from '../support/doc-blocks';
import { decodeJwt, startTokenServiceServer, TokenServiceServer } from './support';

// The example exactly as docs/patterns/backend-services.md shows it (its one `ts runnable` block).
const [example] = runnableBlocks('docs/patterns/backend-services.md');
const { backendToken } = evaluateTs(example!.code) as {
  backendToken: (tokenUrl: string, clientId: string, kid: string, privateKeyPem: string, scope: string) => Promise<string>;
};

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
