/**
 * The two DynamoDB tables behind SMART Backend Services (private_key_jwt) clients, described in
 * this one place for the token service, the CDK construct, the admin CLI and the local stack.
 *
 * Client registry (read by the token service with a consistent GetItem):
 *
 * | attribute  | type       | meaning                                                                 |
 * |------------|------------|-------------------------------------------------------------------------|
 * | `clientId` | S, HASH    | the client id: `iss` = `sub` of its assertions, `sub`/`client_id` of its tokens |
 * | `status`   | S          | `active` or `revoked` (revoked: no new token; issued ones live ≤ 5 min) |
 * | `jwksUri`  | S          | https URL of the client's JWKS (rotation without us) — or:              |
 * | `jwks`     | S          | the client's public JWKS as JSON text (`{"keys":[…]}`); exactly one of the two |
 * | `scopes`   | L of S     | allowed `system/` scopes, e.g. `["system/Observation.rs"]` (SS accepted) |
 * | `name`     | S          | optional, for people                                                    |
 *
 * Assertion replay (`jti`) store, written with a conditional PutItem:
 *
 * | attribute   | type     | meaning                                                           |
 * |-------------|----------|-------------------------------------------------------------------|
 * | `clientId`  | S, HASH  | the client                                                        |
 * | `jti`       | S, RANGE | the assertion's `jti`                                             |
 * | `expiresAt` | N        | the assertion's `exp` (epoch seconds); the table's TTL attribute  |
 *
 * DynamoDB deletes expired items lazily (often days later), so the condition itself treats an
 * item past `expiresAt` as gone: `attribute_not_exists(jti) OR expiresAt < :now`.
 */
import {
  AttributeValue,
  CreateTableCommand,
  CreateTableCommandInput,
  DynamoDBClient,
  PutItemCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { BackendClient, parseBackendClient } from '../core/client-assertion';

/** Client registry key and attribute names. */
export const CLIENTS_TABLE = {
  partitionKey: 'clientId',
  attributes: { clientId: 'clientId', status: 'status', jwksUri: 'jwksUri', jwks: 'jwks', scopes: 'scopes', name: 'name' },
} as const;

/** Replay store key, sort key and TTL attribute names. */
export const REPLAY_TABLE = { partitionKey: 'clientId', sortKey: 'jti', ttlAttribute: 'expiresAt' } as const;

export interface ClientTableNames {
  readonly clients: string;
  readonly replay: string;
}

/** CreateTable inputs for both tables (on-demand; the CDK construct adds encryption, PITR and TTL). */
export function clientTableDefinitions(names: ClientTableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.clients,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: CLIENTS_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: CLIENTS_TABLE.partitionKey, KeyType: 'HASH' }],
    },
    {
      TableName: names.replay,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: REPLAY_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: REPLAY_TABLE.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: REPLAY_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: REPLAY_TABLE.sortKey, KeyType: 'RANGE' },
      ],
    },
  ];
}

/**
 * Create both tables on an emulator (dynalite) or a scratch account; an existing table is left as
 * it is. TTL is not switched on here (dynalite has no UpdateTimeToLive, and the replay check does
 * not depend on it); the CDK construct sets `timeToLiveAttribute: REPLAY_TABLE.ttlAttribute`.
 */
export async function createClientTables(client: DynamoDBClient, names: ClientTableNames): Promise<void> {
  for (const input of clientTableDefinitions(names)) {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
}

/** Register (or replace) a backend client; validated first, so the token service can read it back. */
export async function putBackendClient(client: DynamoDBClient, tableName: string, record: BackendClient): Promise<void> {
  const item = backendClientToItem(record);
  const check = parseBackendClient(backendClientFromItem(item));
  if (!check.ok) throw new TypeError(`invalid backend client ${JSON.stringify(record.clientId)}: ${check.reason}`);
  await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

/** A registration as a registry item. */
export function backendClientToItem(record: BackendClient): Record<string, AttributeValue> {
  const a = CLIENTS_TABLE.attributes;
  return {
    [a.clientId]: { S: record.clientId },
    [a.status]: { S: record.status },
    ...(record.keys.kind === 'jwks_uri' ? { [a.jwksUri]: { S: record.keys.uri } } : { [a.jwks]: { S: JSON.stringify(record.keys.jwks) } }),
    [a.scopes]: { L: record.scopes.map((s) => ({ S: s })) },
    ...(record.name !== undefined ? { [a.name]: { S: record.name } } : {}),
  };
}

/** Plain values from a registry item, for `parseBackendClient`; shapes other than S, SS and L of S are left out. */
export function backendClientFromItem(item: Readonly<Record<string, AttributeValue>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.values(CLIENTS_TABLE.attributes)) {
    const value = item[key];
    if (value?.S !== undefined) out[key] = value.S;
    else if (value?.SS !== undefined) out[key] = value.SS;
    else if (value?.L !== undefined) out[key] = value.L.map((v) => v.S);
  }
  return out;
}
