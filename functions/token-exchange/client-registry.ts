/**
 * The backend client registry (client id → keys, allowed `system/` scopes, status) in DynamoDB.
 * Read with a strongly consistent GetItem and never cached, so a revocation stops the very next
 * token request. Fail closed: a DynamoDB error is a DependencyError (503), never "no client".
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getItem } from '../adapters/dynamo-item';
import { BackendClient, parseBackendClient } from '../core/client-assertion';
import { OAuthError } from '../core/oauth-error';
import { backendClientFromItem, CLIENTS_TABLE } from './client-tables';

export interface ClientRegistry {
  /** The registration, or undefined when the client is unknown; a malformed one throws `invalid_client`. */
  get(clientId: string): Promise<BackendClient | undefined>;
}

/** GetItem by `clientId` on the registry table (item shape: client-tables.ts). */
export class DynamoClientRegistry implements ClientRegistry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(clientId: string): Promise<BackendClient | undefined> {
    const item = await getItem(this.client, this.tableName, { [CLIENTS_TABLE.partitionKey]: { S: clientId } }, 'client registry lookup', { consistentRead: true });
    if (!item) return undefined;
    const parsed = parseBackendClient(backendClientFromItem(item));
    // A registration we cannot read authenticates nobody; the reason goes to the log and the client.
    if (!parsed.ok) throw new OAuthError('invalid_client', `the client's registration is unusable: ${parsed.reason}`);
    if (parsed.client.clientId !== clientId) throw new OAuthError('invalid_client', "the client's registration is unusable: clientId mismatch");
    return parsed.client;
  }
}

