/**
 * The DynamoDB client the authorizer (and the token service) use: every call has a deadline and
 * at most one retry, so a slow or throttling table fails the request fast instead of hanging it.
 */
import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** Connection and request deadlines, in milliseconds. */
export const DYNAMO_TIMEOUTS = { connectionTimeout: 500, requestTimeout: 1000 } as const;

// Recent @smithy/node-http-handler versions only *warn* when requestTimeout passes unless told
// to throw; a warning would leave the request hanging until Lambda's own timeout.

/** Create the client; `endpoint` only for emulators (dynalite), unset in AWS. */
export function createDynamoClient(options: Pick<DynamoDBClientConfig, 'endpoint' | 'region' | 'credentials'> = {}): DynamoDBClient {
  return new DynamoDBClient({ ...options, maxAttempts: 2, requestHandler: { ...DYNAMO_TIMEOUTS, throwOnRequestTimeout: true } });
}
