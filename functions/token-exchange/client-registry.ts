/**
 * The backend client registry (client id → keys, allowed `system/` scopes, status) in DynamoDB.
 * Read with a strongly consistent GetItem and never cached, so a revocation stops the very next
 * token request. Fail closed: a DynamoDB error is a DependencyError (503), never "no client".
 */
import { AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BackendClient, parseBackendClient } from '../core/client-assertion';
import { DependencyError } from '../core/errors';
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
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [CLIENTS_TABLE.partitionKey]: { S: clientId } }, ConsistentRead: true }),
      );
      item = out.Item;
    } catch (err) {
      throw dependencyError('client registry lookup', err);
    }
    if (!item) return undefined;
    const parsed = parseBackendClient(backendClientFromItem(item));
    // A registration we cannot read authenticates nobody; the reason goes to the log and the client.
    if (!parsed.ok) throw new OAuthError('invalid_client', `the client's registration is unusable: ${parsed.reason}`);
    if (parsed.client.clientId !== clientId) throw new OAuthError('invalid_client', "the client's registration is unusable: clientId mismatch");
    return parsed.client;
  }
}

/** A DynamoDB failure as a DependencyError naming the operation, never the data. */
export function dependencyError(operation: string, err: unknown): DependencyError {
  const name = err instanceof Error ? err.name : 'unknown';
  const code = name === 'TimeoutError' || name === 'RequestTimeout' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED';
  return new DependencyError(code, `${operation} failed (${name})`);
}
