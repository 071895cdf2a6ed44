/**
 * The two DynamoDB tables behind SMART App Launch, keyed exactly as `appTableDefinitions`
 * (functions/token-exchange/app-tables.ts) describes them, so the deployed tables, the admin CLI
 * (`fhirgate apps`) and the local stack agree:
 *
 * - the app registry (client id → redirect URIs, allowed scopes, status): written by the admin CLI
 *   and by the stack's first-party app registrations, read by the token service with a consistent
 *   `dynamodb:GetItem` only. Which apps may launch lives here, so it is kept like the links table:
 *   point-in-time recovery, deletion protection, retained with the stack;
 * - the launch state (sign-in sessions, authorization codes and refresh tokens stored by their
 *   SHA-256, refresh families; TTL on `expiresAt`): read and written by the token service only.
 *   It has no point-in-time recovery on purpose: a restored copy would bring back codes and
 *   refresh tokens already redeemed and families already revoked (the `used`/`revoked` marks are
 *   the replay defence), while losing it only ends sign-ins in progress and refresh tokens — apps
 *   send their users through sign-in again. It goes with the stack.
 *
 * One customer-managed key (rotated yearly) encrypts both; the broker secret (lib/app-launch.ts)
 * uses it too, each through its own service.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { appTableDefinitions, LAUNCH_TABLE } from '../functions/token-exchange/app-tables';
import { createRegistryTables } from './registry-tables';

export interface AppLaunchTablesProps {
  /**
   * What happens to the app registry and the key when the stack is deleted (the launch state is
   * always destroyed: nothing in it outlives a sign-in or a refresh token).
   * @default RemovalPolicy.RETAIN (the registry says which apps may launch)
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class AppLaunchTables extends Construct {
  /** Client id → redirect URIs, scopes, status (partition key `clientId`). */
  readonly apps: dynamodb.Table;
  /** Sessions, hashed codes and refresh tokens, families (partition key `pk`, TTL `expiresAt`). */
  readonly launch: dynamodb.Table;
  /** Customer-managed key (rotated yearly) of both tables and of the broker secret. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AppLaunchTablesProps = {}) {
    super(scope, id);
    // Table names are CloudFormation's; the definitions are read for their keys only.
    const [appsDefinition, launchDefinition] = appTableDefinitions({ apps: 'apps', launch: 'launch' });
    const tables = createRegistryTables(this, {
      keyDescription: 'fhirgate SMART App Launch: app registry, launch state and broker secret encryption',
      registry: {
        definition: appsDefinition!,
        backupReason:
          'The fhirgate SMART app registry has point-in-time recovery (35 days, to the second) and deletion protection; its rows (client id, redirect URIs, scopes) are re-registered with the admin CLI or by the stack, so an AWS Backup plan is left to the account backup policy',
      },
      state: {
        id: 'LaunchState',
        definition: launchDefinition!,
        ttlAttribute: LAUNCH_TABLE.ttlAttribute,
        noBackupReason:
          'The fhirgate SMART App Launch state (sign-in sessions, hashed authorization codes and refresh tokens) is not backed up on purpose: a restored copy would revive codes and refresh tokens already redeemed or revoked, while losing it only ends sign-ins and refresh tokens, which apps renew by signing the user in again',
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.key = tables.key;
    this.apps = tables.registry;
    this.launch = tables.state;
  }

  /**
   * The token service's statements, exactly the calls it makes (functions/token-exchange/
   * app-registry.ts and launch-store.ts): GetItem on the registry; GetItem, PutItem (conditional
   * or not), UpdateItem (redeeming a code or refresh token) and DeleteItem (a finished session) on
   * the launch state; decrypting with the key only when DynamoDB asks on its behalf. No Scan, no
   * Query, no write to the registry. Each has a Sid, so policy minimization never merges them
   * with another table's.
   */
  tokenServiceStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({ sid: 'ReadSmartAppRegistry', actions: ['dynamodb:GetItem'], resources: [this.apps.tableArn] }),
      new iam.PolicyStatement({
        sid: 'ReadWriteLaunchState',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [this.launch.tableArn],
      }),
      this.decryptThroughDynamoDb('DecryptAppLaunchTables'),
    ];
  }

  /** `kms:Decrypt` on the key when DynamoDB calls it on the principal's behalf (reads and writes alike). */
  decryptThroughDynamoDb(sid: string): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions: ['kms:Decrypt'],
      resources: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}
