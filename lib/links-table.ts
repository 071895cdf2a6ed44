/**
 * The links table: Cognito `sub` → role, `fhirUser` and the patients the user may act for
 * (docs/design.md "Architecture", links table). Read by the authorizer and the token exchange (GetItem only),
 * written by the admin CLI. Encrypted with its own customer-managed key, recoverable to any
 * second of the last 35 days, and protected from deletion.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface LinksTableProps {
  /**
   * What happens to the table and its key when the stack is deleted.
   * @default RemovalPolicy.RETAIN (it holds who may see which patient)
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class LinksTable extends Construct {
  readonly table: dynamodb.Table;
  /** Customer-managed key (rotated yearly) that encrypts the table. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: LinksTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.key = new kms.Key(this, 'Key', {
      description: 'fhirgate links table encryption',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'sub', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: true,
      removalPolicy,
    });
    Validations.of(this.table).acknowledge({
      id: 'HIPAA.Security-DynamoDBInBackupPlan',
      reason: 'The fhirgate links table has point-in-time recovery (35 days, to the second) and deletion protection; its rows (user to patient links) are re-creatable with the admin CLI, so an AWS Backup plan is left to the account backup policy',
    });
  }

  /**
   * Statements for reading one link by key: `dynamodb:GetItem` on this table, and decrypting
   * with its key only when DynamoDB asks on the caller's behalf.
   */
  getItemStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [this.table.tableArn] }),
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${this.table.stack.region}.amazonaws.com` } },
      }),
    ];
  }
}
