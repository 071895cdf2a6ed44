/**
 * A registry table the operator changes (backend clients, SMART apps): items keyed by
 * `clientId` with a `status` of `active` or `revoked`. Conditional writes only — never a blind
 * overwrite of an active registration — and every DynamoDB failure as one CLI error line.
 */
import { AttributeValue, DynamoDBClient, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CliError, failure, isUnreachable } from './errors';

export type Item = Record<string, AttributeValue>;

/** The key and status attribute names (the same in both registries). */
const ID = 'clientId';
const STATUS = 'status';

export class StatusTable {
  /** `what`: the table in messages, e.g. `client registry`. */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly what: string,
    private readonly unreachableHint: string,
  ) {}

  /** Write the item; without `replace` only where no active registration has its id (else `conflict`). Returns the item replaced. */
  async put(item: Item, replace: boolean, conflict: string): Promise<Item | undefined> {
    const condition = replace
      ? {}
      : { ConditionExpression: 'attribute_not_exists(#id) OR #status <> :active', ExpressionAttributeNames: { '#id': ID, '#status': STATUS }, ExpressionAttributeValues: { ':active': { S: 'active' } } };
    const out = await this.send('writing the registration', () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ReturnValues: 'ALL_OLD', ...condition })), conflict);
    return out?.Attributes;
  }

  /** Set status revoked; returns the item as it was, or undefined when there is no such id. */
  async revoke(id: string, doing: string): Promise<Item | undefined> {
    const out = await this.send(doing, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [ID]: { S: id } },
          UpdateExpression: 'SET #status = :revoked',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#id': ID, '#status': STATUS },
          ExpressionAttributeValues: { ':revoked': { S: 'revoked' } },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    return out?.Attributes;
  }

  /** Every item (a full scan, paged by DynamoDB). */
  async scan(): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.send(`listing the ${this.what}`, () => this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true })));
      items.push(...(out?.Items ?? []));
      start = out?.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Run a call; a failed condition is `conflict` (a CliError), or undefined when no message is given. */
  private async send<T>(doing: string, call: () => Promise<T>, conflict?: string): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (isUnreachable(err)) throw new CliError(`${doing} failed: cannot reach DynamoDB${this.unreachableHint}`);
      if (name === 'ResourceNotFoundException') throw new CliError(`${doing} failed: ${this.what} table ${this.tableName} not found`);
      if (name === 'ConditionalCheckFailedException') {
        if (conflict) throw new CliError(conflict);
        return undefined;
      }
      throw failure(doing, err);
    }
  }
}
