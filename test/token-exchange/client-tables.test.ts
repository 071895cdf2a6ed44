/**
 * The backend client tables on dynalite: the registry item codec, the registry adapter (consistent
 * read, malformed items, outages) and the replay store's conditional put, with the clock passed in.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { BackendClient } from '../../functions/core/client-assertion';
import { DependencyError } from '../../functions/core/errors';
import { OAuthError } from '../../functions/core/oauth-error';
import { DynamoClientRegistry } from '../../functions/token-exchange/client-registry';
import {
  backendClientFromItem,
  backendClientToItem,
  clientTableDefinitions,
  CLIENTS_TABLE,
  createClientTables,
  putBackendClient,
  REPLAY_TABLE,
} from '../../functions/token-exchange/client-tables';
import { DynamoReplayStore } from '../../functions/token-exchange/replay-store';
import { startDynalite, TestDynamo } from '../support/dynalite';

const TABLES = { clients: 'clients', replay: 'replay' };
const NOW = 1_800_000_000;
const byUri: BackendClient = { clientId: 'sync-job', status: 'active', keys: { kind: 'jwks_uri', uri: 'https://sync.example/jwks.json' }, scopes: ['system/Observation.rs'], name: 'Nightly sync' };
const inline: BackendClient = {
  clientId: 'vendor',
  status: 'revoked',
  keys: { kind: 'jwks', jwks: { keys: [{ kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'k1' }] } },
  scopes: ['system/*.rs', 'system/Patient.r'],
};

let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createClientTables(dynamo.client, TABLES);
});
afterAll(async () => {
  await dynamo.close();
});

describe('table definitions (one place for the CDK, the CLI and the local stack)', () => {
  test('registry keyed by clientId; replay store by clientId + jti with expiresAt as TTL', () => {
    const [clients, replay] = clientTableDefinitions(TABLES);
    expect(clients).toMatchObject({ TableName: 'clients', KeySchema: [{ AttributeName: 'clientId', KeyType: 'HASH' }] });
    expect(replay).toMatchObject({
      TableName: 'replay',
      KeySchema: [
        { AttributeName: 'clientId', KeyType: 'HASH' },
        { AttributeName: 'jti', KeyType: 'RANGE' },
      ],
    });
    expect(REPLAY_TABLE).toEqual({ partitionKey: 'clientId', sortKey: 'jti', ttlAttribute: 'expiresAt' });
    expect(CLIENTS_TABLE.partitionKey).toBe('clientId');
  });

  test('item codec round-trips both key kinds', () => {
    expect(backendClientToItem(byUri)).toEqual({
      clientId: { S: 'sync-job' }, status: { S: 'active' }, jwksUri: { S: 'https://sync.example/jwks.json' }, scopes: { L: [{ S: 'system/Observation.rs' }] }, name: { S: 'Nightly sync' },
    });
    expect(backendClientToItem(inline).jwks).toEqual({ S: JSON.stringify(inline.keys.kind === 'jwks' && inline.keys.jwks) });
    expect(backendClientFromItem({ ...backendClientToItem(byUri), other: { N: '1' } })).toEqual({
      clientId: 'sync-job', status: 'active', jwksUri: 'https://sync.example/jwks.json', scopes: ['system/Observation.rs'], name: 'Nightly sync',
    });
  });
});

describe('DynamoClientRegistry', () => {
  const registry = () => new DynamoClientRegistry(dynamo.client, TABLES.clients);

  test('reads back what putBackendClient wrote; unknown is undefined', async () => {
    await putBackendClient(dynamo.client, TABLES.clients, byUri);
    await putBackendClient(dynamo.client, TABLES.clients, inline);
    expect(await registry().get('sync-job')).toEqual(byUri);
    expect(await registry().get('vendor')).toEqual(inline);
    expect(await registry().get('nobody')).toBeUndefined();
  });

  test('scopes stored as a string set are read too', async () => {
    await dynamo.client.send(new PutItemCommand({
      TableName: TABLES.clients,
      Item: { clientId: { S: 'ss' }, status: { S: 'active' }, jwksUri: { S: 'https://ss.example/jwks.json' }, scopes: { SS: ['system/Patient.rs'] } },
    }));
    expect(await registry().get('ss')).toMatchObject({ scopes: ['system/Patient.rs'] });
  });

  test('putBackendClient refuses a registration the token service could not use', async () => {
    await expect(putBackendClient(dynamo.client, TABLES.clients, { ...byUri, clientId: 'bad', scopes: ['patient/*.rs'] })).rejects.toThrow(TypeError);
    expect((await dynamo.client.send(new GetItemCommand({ TableName: TABLES.clients, Key: { clientId: { S: 'bad' } } }))).Item).toBeUndefined();
  });

  test('a malformed item (written by hand) authenticates nobody: invalid_client', async () => {
    await dynamo.client.send(new PutItemCommand({
      TableName: TABLES.clients,
      Item: { clientId: { S: 'hand-made' }, status: { S: 'active' }, jwksUri: { S: 'http://sync.example/jwks.json' }, scopes: { L: [{ S: 'system/*.rs' }] } },
    }));
    await expect(registry().get('hand-made')).rejects.toThrow(OAuthError);
    await expect(registry().get('hand-made')).rejects.toMatchObject({ code: 'invalid_client', message: expect.stringMatching(/https/) });
  });

  test('a table that does not exist is an outage (DependencyError), never "unknown client"', async () => {
    await expect(new DynamoClientRegistry(dynamo.client, 'missing').get('sync-job')).rejects.toThrow(DependencyError);
  });
});

describe('DynamoReplayStore: conditional PutItem, clock passed in', () => {
  const store = () => new DynamoReplayStore(dynamo.client, TABLES.replay);

  test('first use true, a replay before expiresAt false', async () => {
    expect(await store().claim('sync-job', 'j-1', NOW + 60, NOW)).toBe(true);
    expect(await store().claim('sync-job', 'j-1', NOW + 60, NOW + 1)).toBe(false);
    expect(await store().claim('sync-job', 'j-1', NOW + 200, NOW + 59)).toBe(false);
  });

  test('at expiresAt still held; after it free again (the old assertion is expired), then held until the new expiresAt', async () => {
    expect(await store().claim('sync-job', 'j-2', NOW + 60, NOW)).toBe(true);
    expect(await store().claim('sync-job', 'j-2', NOW + 120, NOW + 60)).toBe(false);
    expect(await store().claim('sync-job', 'j-2', NOW + 121, NOW + 61)).toBe(true);
    expect(await store().claim('sync-job', 'j-2', NOW + 200, NOW + 100)).toBe(false);
    const item = await dynamo.client.send(new GetItemCommand({ TableName: TABLES.replay, Key: { clientId: { S: 'sync-job' }, jti: { S: 'j-2' } } }));
    expect(item.Item?.expiresAt).toEqual({ N: String(NOW + 121) });
  });

  test('per client: another client may use the same jti', async () => {
    expect(await store().claim('a', 'same', NOW + 60, NOW)).toBe(true);
    expect(await store().claim('b', 'same', NOW + 60, NOW)).toBe(true);
  });

  test('concurrent replays: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => store().claim('race', 'j-race', NOW + 60, NOW)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('an outage is a DependencyError, never "first use"', async () => {
    await expect(new DynamoReplayStore(dynamo.client, 'missing').claim('a', 'b', NOW + 60, NOW)).rejects.toThrow(DependencyError);
  });
});
