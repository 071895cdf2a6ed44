/**
 * The SMART app registry (client id → redirect URIs, allowed scopes, status) in DynamoDB. Read
 * with a strongly consistent GetItem and never cached: a revoked app cannot start a launch or
 * refresh a token from the very next request. Fail closed: an outage is a DependencyError (503).
 */
import { AttributeValue, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { AppClient, checkAppClient } from '../core/app-launch';
import { APPS_TABLE } from './app-tables';
import { getItem } from '../adapters/dynamo-item';

export interface AppRegistry {
  /** The app, or undefined when unknown or unreadable (an unreadable registration launches nothing). */
  find(clientId: string): Promise<AppClient | undefined>;
}

/** GetItem by `clientId` on the apps table (item shape: app-tables.ts). */
export class DynamoAppRegistry implements AppRegistry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async find(clientId: string): Promise<AppClient | undefined> {
    const item = await getItem(this.client, this.tableName, { [APPS_TABLE.partitionKey]: { S: clientId } }, 'app registry lookup', { consistentRead: true });
    const app = item && appFromItem(item);
    return app?.clientId === clientId ? app : undefined;
  }
}

/** Register (or replace) an app; validated first, so the token service can read it back. */
export async function putApp(client: DynamoDBClient, tableName: string, app: AppClient): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: appToItem(checkAppClient(app)) }));
}

/** Every registered app (the registry is small: one item per app). */
export async function listApps(client: DynamoDBClient, tableName: string): Promise<AppClient[]> {
  const apps: AppClient[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      const app = appFromItem(item);
      if (app) apps.push(app);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return apps.sort((a, b) => a.clientId.localeCompare(b.clientId));
}

export function appToItem(app: AppClient): Record<string, AttributeValue> {
  return {
    clientId: { S: app.clientId },
    status: { S: app.status },
    name: { S: app.name },
    redirectUris: { L: app.redirectUris.map((u) => ({ S: u })) },
    scopes: { L: app.scopes.map((s) => ({ S: s })) },
  };
}

/** An item as an app, or undefined when it does not pass the registration checks. */
export function appFromItem(item: Readonly<Record<string, AttributeValue>>): AppClient | undefined {
  const list = (v: AttributeValue | undefined) => v?.L?.map((x) => x.S ?? '') ?? v?.SS;
  const status = item.status?.S;
  const app = {
    clientId: item.clientId?.S ?? '',
    name: item.name?.S ?? item.clientId?.S ?? '',
    status: status === 'active' || status === 'revoked' ? status : undefined,
    redirectUris: list(item.redirectUris) ?? [],
    scopes: list(item.scopes) ?? [],
  };
  if (app.status === undefined) return undefined;
  try {
    return checkAppClient(app as AppClient);
  } catch {
    return undefined;
  }
}
