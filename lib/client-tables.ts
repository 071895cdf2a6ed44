/**
 * The two DynamoDB tables behind SMART Backend Services (private_key_jwt) clients, keyed exactly as
 * `clientTableDefinitions` (functions/token-exchange/client-tables.ts) describes them, so the
 * deployed tables, the admin CLI and the local stack agree:
 *
 * - the client registry (client id → public keys, allowed `system/` scopes, status): written by the
 *   admin CLI, read by the token service with `dynamodb:GetItem` only. Who may authenticate with
 *   an assertion lives here, so it is kept like the links table: point-in-time recovery, deletion
 *   protection, retained with the stack;
 * - the assertion replay store (client id + `jti` until the assertion's `exp`, TTL on `expiresAt`):
 *   written by the token service with a conditional `dynamodb:PutItem` only. Its rows matter for
 *   minutes, so it has no point-in-time recovery and goes with the stack.
 *
 * One customer-managed key (rotated yearly) encrypts both.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { clientTableDefinitions, REPLAY_TABLE } from '../functions/token-exchange/client-tables';
import { createRegistryTables } from './registry-tables';

export interface BackendClientTablesProps {
  /**
   * What happens to the client registry and the key when the stack is deleted (the replay store
   * is always destroyed: it holds nothing worth keeping).
   * @default RemovalPolicy.RETAIN (the registry says who may authenticate)
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class BackendClientTables extends Construct {
  /** Client id → keys, scopes, status (partition key `clientId`). */
  readonly clients: dynamodb.Table;
  /** Used assertion `jti`s (partition key `clientId`, sort key `jti`, TTL `expiresAt`). */
  readonly replay: dynamodb.Table;
  /** Customer-managed key (rotated yearly) that encrypts both tables. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: BackendClientTablesProps = {}) {
    super(scope, id);
    // Table names are CloudFormation's; the definitions are read for their keys only.
    const [clientsDefinition, replayDefinition] = clientTableDefinitions({ clients: 'clients', replay: 'replay' });
    const tables = createRegistryTables(this, {
      keyDescription: 'fhirgate backend client tables encryption',
      registry: {
        definition: clientsDefinition!,
        backupReason:
          'The fhirgate backend client registry has point-in-time recovery (35 days, to the second) and deletion protection; its rows (client id, public keys, scopes) are re-registered with the admin CLI, so an AWS Backup plan is left to the account backup policy',
      },
      state: {
        id: 'Replay',
        definition: replayDefinition!,
        ttlAttribute: REPLAY_TABLE.ttlAttribute,
        noBackupReason:
          'The fhirgate client assertion replay store holds only (client id, jti) pairs until the assertion expires (minutes, then TTL deletes them); a restored copy would only hold expired assertions that are refused anyway, and losing it opens no replay window longer than the assertion lifetime, so it is not backed up',
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.key = tables.key;
    this.clients = tables.registry;
    this.replay = tables.state;
  }

  /**
   * The token service's statements: `dynamodb:GetItem` on the registry, `dynamodb:PutItem` on the
   * replay store, and decrypting with the tables' key only when DynamoDB asks on its behalf
   * (DynamoDB decrypts the table key with it for reads and writes alike). Each has a Sid, so
   * policy minimization never merges them with the links table's into a multi-table statement.
   */
  tokenServiceStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({ sid: 'ReadBackendClientRegistry', actions: ['dynamodb:GetItem'], resources: [this.clients.tableArn] }),
      new iam.PolicyStatement({ sid: 'RecordClientAssertionJti', actions: ['dynamodb:PutItem'], resources: [this.replay.tableArn] }),
      new iam.PolicyStatement({
        sid: 'DecryptBackendClientTables',
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.clients.stack.region}.amazonaws.com` } },
      }),
    ];
  }
}
