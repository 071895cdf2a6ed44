/**
 * Reading one DynamoDB item by key, the way every fhirgate table is read: fail closed (an error is
 * a DependencyError — 5xx — never "no item"), with timeouts told apart from other failures.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DependencyError } from '../core/errors';

/** The item, or undefined when there is none; throws DependencyError when the table cannot be read. */
export async function getItem(
  client: DynamoDBClient,
  tableName: string,
  key: Record<string, AttributeValue>,
  operation: string,
  options: { readonly consistentRead?: boolean } = {},
): Promise<Record<string, AttributeValue> | undefined> {
  try {
    const { GetItemCommand } = dynamoSdk();
    const out = await client.send(new GetItemCommand({ TableName: tableName, Key: key, ...(options.consistentRead ? { ConsistentRead: true } : {}) }));
    return out.Item;
  } catch (err) {
    throw dependencyError(operation, err);
  }
}

/** A DynamoDB failure as fhirgate's error: timeouts are ERR_DEPENDENCY_TIMEOUT, the rest ERR_DEPENDENCY_FAILED. */
export function dependencyError(operation: string, err: unknown): DependencyError {
  const name = err instanceof Error ? err.name : 'unknown';
  const code = name === 'TimeoutError' || name === 'RequestTimeout' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED';
  return new DependencyError(code, `${operation} failed (${name})`);
}

/**
 * The DynamoDB SDK, loaded on the first read rather than with this module: requiring it is most
 * of the authorizer's cold start (bench: coldStart), and machine and fhirgate-issued `system/`
 * tokens never read a link. `require`, not `import()`: Lambda resolves its runtime SDK through
 * NODE_PATH, which ESM resolution ignores (and the bundle keeps an external `import()` as is).
 * Called inside the read's try, so a load failure fails closed like any DynamoDB error.
 */
function dynamoSdk(): typeof import('@aws-sdk/client-dynamodb') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
}
