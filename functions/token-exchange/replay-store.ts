/**
 * One use per client assertion (RFC 7523 §3 item 7, SMART Backend Services "jti"): each
 * (client id, `jti`) is recorded with a conditional PutItem that fails when the pair is already
 * recorded and not yet expired. Lambda containers share nothing else, so DynamoDB's conditional
 * write is what makes a replay lose the race, whichever container it reaches.
 *
 * "Within its lifetime": an item lives until the assertion's `exp`. After that the old assertion
 * is refused as expired anyway, so the `jti` is free again (a new assertion may reuse it); the
 * condition says so itself rather than waiting for DynamoDB's lazy TTL deletion. Both checks use
 * the same container's clock, so no clock disagreement between containers opens a window.
 */
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dependencyError } from '../adapters/dynamo-item';
import { REPLAY_TABLE } from './client-tables';

export interface ReplayStore {
  /**
   * Record `jti` for `clientId` until `expiresAt` (epoch seconds). True when this is its first use
   * (or every earlier use has expired at `now`), false for a replay. Outages throw DependencyError.
   */
  claim(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
}

/** Conditional PutItem on the replay table (item shape: client-tables.ts). */
export class DynamoReplayStore implements ReplayStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [REPLAY_TABLE.partitionKey]: { S: clientId },
            [REPLAY_TABLE.sortKey]: { S: jti },
            [REPLAY_TABLE.ttlAttribute]: { N: String(Math.ceil(expiresAt)) },
          },
          ConditionExpression: 'attribute_not_exists(#jti) OR #expiresAt < :now',
          ExpressionAttributeNames: { '#jti': REPLAY_TABLE.sortKey, '#expiresAt': REPLAY_TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(now)) } },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException')) return false;
      throw dependencyError('assertion replay check', err);
    }
  }
}
