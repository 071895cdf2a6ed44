/**
 * The two DynamoDB tables behind SMART App Launch, described in this one place for the token
 * service, the CDK construct, the admin CLI (`fhirgate apps`) and the local stack.
 *
 * Apps (registered SMART apps, read with a consistent GetItem, never cached):
 *
 * | attribute      | type    | meaning                                                       |
 * |----------------|---------|---------------------------------------------------------------|
 * | `clientId`     | S, HASH | the public client's `client_id`                               |
 * | `status`       | S       | `active` or `revoked` (revoked: no new launch, no refresh)     |
 * | `redirectUris` | L of S  | exact redirect URIs                                           |
 * | `scopes`       | L of S  | SMART names and `patient/` scopes the app may ask for         |
 * | `name`         | S       | shown on the sign-in and picker pages                         |
 *
 * Launch state (sign-in sessions, authorization codes, refresh tokens, refresh families):
 *
 * | attribute   | type    | meaning                                                             |
 * |-------------|---------|---------------------------------------------------------------------|
 * | `pk`        | S, HASH | `session#<id>`, `code#<sha256>`, `refresh#<sha256>`, `family#<id>`  |
 * | `record`    | S       | the JSON record (core/app-launch-grants.ts types)                   |
 * | `used`      | BOOL    | a code or refresh token already redeemed (set once, conditionally)  |
 * | `revoked`   | BOOL    | on `family#`: every code and refresh token of the launch is dead    |
 * | `expiresAt` | N       | epoch seconds; the table's TTL attribute (checked on read as well)  |
 *
 * Codes and refresh tokens are stored by their SHA-256 only: a copy of the table redeems nothing.
 */
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';

export const APPS_TABLE = { partitionKey: 'clientId' } as const;
export const LAUNCH_TABLE = { partitionKey: 'pk', ttlAttribute: 'expiresAt' } as const;

export interface AppTableNames {
  readonly apps: string;
  readonly launch: string;
}

/** CreateTable inputs for both tables (on-demand; the CDK construct adds encryption, PITR and TTL). */
export function appTableDefinitions(names: AppTableNames): CreateTableCommandInput[] {
  return [
    { TableName: names.apps, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: APPS_TABLE.partitionKey, AttributeType: 'S' }], KeySchema: [{ AttributeName: APPS_TABLE.partitionKey, KeyType: 'HASH' }] },
    { TableName: names.launch, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: LAUNCH_TABLE.partitionKey, AttributeType: 'S' }], KeySchema: [{ AttributeName: LAUNCH_TABLE.partitionKey, KeyType: 'HASH' }] },
  ];
}

/** Create both tables on an emulator (dynalite) or a scratch account; an existing one is left as it is. */
export async function createAppTables(client: DynamoDBClient, names: AppTableNames): Promise<void> {
  for (const input of appTableDefinitions(names)) {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
}
