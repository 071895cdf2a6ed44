/**
 * The pair of DynamoDB tables fhirgate keeps twice (backend clients in lib/client-tables.ts, SMART
 * apps in lib/app-tables.ts): a **registry** of who may authenticate or launch — written by the
 * admin CLI, kept like the links table (point-in-time recovery, deletion protection, retained) —
 * and a short-lived **state** table beside it (TTL, no point-in-time recovery, destroyed with the
 * stack), both encrypted by one customer-managed key rotated yearly.
 *
 * Created in the caller's scope with the caller's ids, so each construct keeps its logical ids.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export interface RegistryTablesOptions {
  /** Description of the key that encrypts both tables. */
  readonly keyDescription: string;
  /** The registry's CreateTable definition (read for its keys) and why it has no AWS Backup plan. */
  readonly registry: { readonly definition: CreateTableCommandInput; readonly backupReason: string };
  /** The state table: its construct id, definition, TTL attribute, and why it is not backed up at all. */
  readonly state: { readonly id: string; readonly definition: CreateTableCommandInput; readonly ttlAttribute: string; readonly noBackupReason: string };
  /** What happens to the registry and the key when the stack is deleted (the state table is always destroyed). */
  readonly removalPolicy: RemovalPolicy;
}

export interface RegistryTables {
  readonly key: kms.Key;
  readonly registry: dynamodb.Table;
  readonly state: dynamodb.Table;
}

/** The key (`Key`), the registry (`Registry`) and the state table (`options.state.id`) in `scope`. */
export function createRegistryTables(scope: Construct, options: RegistryTablesOptions): RegistryTables {
  const { removalPolicy } = options;
  const key = new kms.Key(scope, 'Key', { description: options.keyDescription, enableKeyRotation: true, removalPolicy });
  const encrypted = { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST, encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key } as const;

  const registry = new dynamodb.Table(scope, 'Registry', {
    ...keySchemaOf(options.registry.definition),
    ...encrypted,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy,
  });
  Validations.of(registry).acknowledge({ id: 'HIPAA.Security-DynamoDBInBackupPlan', reason: options.registry.backupReason });

  const state = new dynamodb.Table(scope, options.state.id, {
    ...keySchemaOf(options.state.definition),
    ...encrypted,
    timeToLiveAttribute: options.state.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const reason = options.state.noBackupReason;
  Validations.of(state).acknowledge(
    { id: 'AwsSolutions-DDB3', reason },
    { id: 'HIPAA.Security-DynamoDBPITREnabled', reason },
    { id: 'HIPAA.Security-DynamoDBInBackupPlan', reason },
  );
  return { key, registry, state };
}

/** Partition and sort key of a CreateTable definition, as CDK table props. */
export function keySchemaOf(definition: CreateTableCommandInput): Pick<dynamodb.TableProps, 'partitionKey' | 'sortKey'> {
  const attribute = (keyType: 'HASH' | 'RANGE'): dynamodb.Attribute | undefined => {
    const name = definition.KeySchema?.find((k) => k.KeyType === keyType)?.AttributeName;
    if (name === undefined) return undefined;
    const type = definition.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    if (type !== 'S' && type !== 'N' && type !== 'B') throw new TypeError(`table definition ${definition.TableName}: key ${name} has no scalar type`);
    return { name, type: ATTRIBUTE_TYPES[type] };
  };
  const partitionKey = attribute('HASH');
  if (!partitionKey) throw new TypeError(`table definition ${definition.TableName} has no partition key`);
  const sortKey = attribute('RANGE');
  return { partitionKey, ...(sortKey ? { sortKey } : {}) };
}

const ATTRIBUTE_TYPES = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY } as const;
