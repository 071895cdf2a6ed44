/**
 * Launch state in DynamoDB (item shape: app-tables.ts): sign-in sessions, authorization codes,
 * refresh tokens and refresh families. Codes and refresh tokens are single-use: redeeming sets
 * `used` with a conditional UpdateItem, so of two concurrent redemptions (in any two Lambda
 * containers) exactly one is the first; the other learns it is a reuse and the caller revokes the
 * family (RFC 9700 §4.14.2, RFC 6749 §4.1.2 "the authorization server … SHOULD revoke … all tokens
 * previously issued based on that authorization code"). Fail closed: outages are DependencyErrors.
 */
import { AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AuthorizeRequest, LaunchGrant, LaunchUser } from '../core/app-launch';
import type { CodeRecord, RefreshRecord } from '../core/app-launch-grants';
import { LAUNCH_TABLE } from './app-tables';
import { dependencyError } from '../adapters/dynamo-item';


/** A sign-in in progress: the validated request, then (after Cognito) who signed in. */
export interface SessionRecord {
  readonly request: AuthorizeRequest;
  readonly user?: LaunchUser;
  /** What the app will be granted, decided at the callback (before a picker). */
  readonly grant?: LaunchGrant;
  /** Epoch seconds. */
  readonly exp: number;
}

/** A single-use record as redeemed: `firstUse` false means it was redeemed before (a replay). */
export interface Redeemed<T> {
  readonly record: T;
  readonly firstUse: boolean;
}

export interface LaunchStore {
  putSession(id: string, session: SessionRecord): Promise<void>;
  /** The session, or undefined when unknown or expired at `now`. */
  getSession(id: string, now: number): Promise<SessionRecord | undefined>;
  deleteSession(id: string): Promise<void>;
  putCode(hash: string, record: CodeRecord): Promise<void>;
  redeemCode(hash: string): Promise<Redeemed<CodeRecord> | undefined>;
  putRefresh(hash: string, record: RefreshRecord): Promise<void>;
  redeemRefresh(hash: string): Promise<Redeemed<RefreshRecord> | undefined>;
  /** End every code and refresh token of a launch, until `until` (epoch seconds). */
  revokeFamily(family: string, until: number): Promise<void>;
  familyRevoked(family: string): Promise<boolean>;
}

/** The launch table through the DynamoDB API. */
export class DynamoLaunchStore implements LaunchStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  putSession(id: string, session: SessionRecord) {
    return this.put(`session#${id}`, session, session.exp, true);
  }

  async getSession(id: string, now: number) {
    const item = await this.get(`session#${id}`);
    const session = item && (JSON.parse(item.record!.S!) as SessionRecord);
    return session && session.exp > now ? session : undefined;
  }

  async deleteSession(id: string) {
    await this.call('launch session delete', () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key(`session#${id}`) })));
  }

  putCode(hash: string, record: CodeRecord) {
    return this.put(`code#${hash}`, record, record.exp);
  }

  redeemCode(hash: string) {
    return this.redeem<CodeRecord>(`code#${hash}`);
  }

  putRefresh(hash: string, record: RefreshRecord) {
    return this.put(`refresh#${hash}`, record, record.exp);
  }

  redeemRefresh(hash: string) {
    return this.redeem<RefreshRecord>(`refresh#${hash}`);
  }

  async revokeFamily(family: string, until: number) {
    await this.call('launch family revoke', () =>
      this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: { ...key(`family#${family}`), revoked: { BOOL: true }, [LAUNCH_TABLE.ttlAttribute]: { N: String(Math.ceil(until)) } } }),
      ),
    );
  }

  async familyRevoked(family: string) {
    const item = await this.get(`family#${family}`);
    return item?.revoked?.BOOL === true;
  }

  private async put(pk: string, record: unknown, expiresAt: number, replace = false): Promise<void> {
    await this.call('launch state write', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key(pk), record: { S: JSON.stringify(record) }, [LAUNCH_TABLE.ttlAttribute]: { N: String(Math.ceil(expiresAt)) } },
          // Keys are 256-bit random values; a code or refresh token colliding is a bug, never an overwrite.
          ...(replace ? {} : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      ),
    );
  }

  private async get(pk: string): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.call('launch state read', () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(pk), ConsistentRead: true })));
    return out.Item;
  }

  /** Mark used if not yet used; a lost condition is a replay (the item exists) or nothing (it does not). */
  private async redeem<T>(pk: string): Promise<Redeemed<T> | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(pk),
          UpdateExpression: 'SET used = :true',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(used)',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { record: JSON.parse(out.Attributes!.record!.S!) as T, firstUse: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException'))) throw dependencyError('launch state redeem', err);
    }
    const item = await this.get(pk);
    return item ? { record: JSON.parse(item.record!.S!) as T, firstUse: false } : undefined;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw dependencyError(operation, err);
    }
  }
}

function key(pk: string): Record<string, AttributeValue> {
  return { [LAUNCH_TABLE.partitionKey]: { S: pk } };
}
