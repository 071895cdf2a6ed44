/**
 * Optional CloudTrail trail for the stack (`cloudTrail` prop, `-c cloudTrail=true`): who called
 * the data plane of fhirgate's stores, from AWS's side, kept apart from fhirgate's own audit lines.
 *
 * | what | CloudTrail event | selector |
 * |---|---|---|
 * | DynamoDB items of every fhirgate table (links, client registry, replay store, …) | data events, `AWS::DynamoDB::Table` | `resources.ARN` = each table of the stack, found at synthesis |
 * | FHIR interactions on the HealthLake data store | data events, `AWS::HealthLake::FHIRDatastore` | `resources.ARN` starts with the data store's ARN |
 * | KMS key use: Sign, GenerateMac/VerifyMac, and Decrypt/GenerateDataKey on the stack's keys by DynamoDB, HealthLake and CloudWatch Logs | management events (KMS has no data events: CloudTrail logs every KMS operation, cryptographic ones included, as management events) | `eventCategory` = Management |
 *
 * Data events need advanced event selectors for every type but S3, Lambda and DynamoDB
 * (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DataResource.html), and a
 * trail takes either basic or advanced selectors, never both, so the management events are an
 * advanced selector too. The CDK `Trail` construct writes basic selectors only, hence `CfnTrail`.
 * KMS: https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html (a
 * GenerateDataKey entry carries `"managementEvent": true`).
 *
 * The trail is single-region (the stack's resources are regional) and delivers to its own bucket:
 * KMS-encrypted with a customer-managed key CloudTrail may use only for this trail, log file
 * integrity validation on (signed digest files), TLS only, never public, versioned, server
 * access logs to a second bucket, Glacier Instant Retrieval after 90 days and deletion after the
 * retention (six years by default, like the log groups). Bucket and key are retained with the
 * stack's deletion: they hold the audit record.
 */
import { Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';

/**
 * `resources.type` of each data event kind the trail selects. DynamoDB's is in the CloudTrail API
 * reference (API_DataResource.html); HealthLake's is the data-store type of CloudTrail's
 * data-events table, which could not be checked against a stored copy when this was written.
 * CloudTrail validates selectors when the trail is created, so a wrong type fails that deploy
 * (with the trail opt-in) instead of silently logging nothing.
 */
export const DATA_EVENT_RESOURCE_TYPES = {
  dynamodb: 'AWS::DynamoDB::Table',
  healthlake: 'AWS::HealthLake::FHIRDatastore',
} as const;

/** Six years, like the log groups (HIPAA documentation retention, 45 CFR 164.316(b)(2)(i)). */
export const DEFAULT_TRAIL_RETENTION_DAYS = 2192;

/** Days before log files move to Glacier Instant Retrieval (its minimum storage duration). */
const COLD_AFTER_DAYS = 90;

/** What the operator may choose. */
export interface AuditTrailOptions {
  /**
   * Also log the account's management events in the region (KMS key use among them). The first
   * copy of management events is free; when the account already has a trail logging them, this
   * one is a second, billed copy — turn it off, and KMS use is in that trail instead.
   * @default true
   */
  readonly managementEvents?: boolean;
  /** Days a log file is kept before S3 deletes it. @default DEFAULT_TRAIL_RETENTION_DAYS (six years) */
  readonly retentionDays?: number;
}

export interface AuditTrailProps extends AuditTrailOptions {
  /** The HealthLake data store whose FHIR interactions are logged (none with a URL backend). */
  readonly datastore?: healthlake.CfnFHIRDatastore;
}

export class AuditTrail extends Construct {
  readonly trail: cloudtrail.CfnTrail;
  readonly bucket: s3.Bucket;
  /** Server access logs of the trail bucket (who read which log file, from S3's side). */
  readonly accessLogs: s3.Bucket;
  readonly key: kms.Key;
  /** The trail's ARN, built from its name (the bucket and key policies need it before the trail exists). */
  readonly trailArn: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const retentionDays = props.retentionDays ?? DEFAULT_TRAIL_RETENTION_DAYS;
    const trailName = `${stack.stackName}-audit`;
    this.trailArn = `arn:${stack.partition}:cloudtrail:${stack.region}:${stack.account}:trail/${trailName}`;
    // Confused-deputy guard on every grant to CloudTrail: this trail only.
    const thisTrail = { StringEquals: { 'aws:SourceArn': this.trailArn } };

    this.key = new kms.Key(this, 'Key', {
      description: 'fhirgate CloudTrail log files',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN, // it decrypts the retained log files
    });
    // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: { ...thisTrail, StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')], actions: ['kms:DescribeKey'], resources: ['*'], conditions: thisTrail }),
    );

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(retentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true, // a bucket policy denying every request without TLS
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true, // an overwritten or deleted log file stays recoverable (validation also flags it)
      lifecycleRules: [
        {
          transitions: retentionDays > COLD_AFTER_DAYS ? [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(COLD_AFTER_DAYS) }] : [],
          expiration: Duration.days(retentionDays),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'trail-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html
    const cloudTrailPrincipal = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({ principals: [cloudTrailPrincipal], actions: ['s3:GetBucketAcl'], resources: [this.bucket.bucketArn], conditions: thisTrail }));
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudTrailPrincipal],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
        conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': this.trailArn } },
      }),
    );

    const data = (name: string, type: string, arns: { equals?: string[]; startsWith?: string[] }): cloudtrail.CfnTrail.AdvancedEventSelectorProperty => ({
      name,
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: [type] },
        { field: 'resources.ARN', ...(arns.equals ? { equalTo: arns.equals } : {}), ...(arns.startsWith ? { startsWith: arns.startsWith } : {}) },
      ],
    });
    const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
      // Every table in the stack at synthesis, so a table added later is logged without a change here.
      data('fhirgate DynamoDB tables', DATA_EVENT_RESOURCE_TYPES.dynamodb, { equals: Lazy.list({ produce: () => tableArns(stack) }) }),
    ];
    if (props.datastore) {
      selectors.push(data('fhirgate HealthLake data store', DATA_EVENT_RESOURCE_TYPES.healthlake, { startsWith: [props.datastore.attrDatastoreArn] }));
    }
    if (props.managementEvents ?? true) {
      selectors.push({ name: 'Management events (KMS key use included)', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] });
    }

    this.trail = new cloudtrail.CfnTrail(this, 'Trail', {
      trailName,
      isLogging: true,
      s3BucketName: this.bucket.bucketName,
      kmsKeyId: this.key.keyArn,
      enableLogFileValidation: true,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: false,
      advancedEventSelectors: selectors,
    });
    // CloudTrail checks the bucket policy (and key policy) when the trail is created.
    this.trail.node.addDependency(this.bucket.policy!, this.key);

    Validations.of(this.trail).acknowledge({
      id: 'HIPAA.Security-CloudTrailCloudWatchLogsEnabled',
      reason:
        'The fhirgate audit trail is an archive: KMS-encrypted S3 with log file validation and six-year retention. Its data events follow every DynamoDB and HealthLake call (one or more per FHIR request); copying them into CloudWatch Logs would bill their volume twice, and fhirgate alarms on its own audit lines and metrics instead',
    });
    for (const [rule, reason] of [
      ['HIPAA.Security-S3DefaultEncryptionKMS', 'The fhirgate audit trail access log bucket must use SSE-S3: S3 server access log delivery does not support KMS-encrypted target buckets'],
      ['HIPAA.Security-S3BucketReplicationEnabled', 'The fhirgate audit trail access log bucket holds S3 request logs of the trail bucket; cross-region replication is left to the account logging policy'],
      ['HIPAA.Security-S3BucketVersioningEnabled', 'The fhirgate audit trail access log bucket is written only by S3 log delivery (bucket owner enforced); versioning would keep deleted log objects past their lifecycle'],
    ] as const) {
      Validations.of(this.accessLogs).acknowledge({ id: rule, reason });
    }
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason: 'The fhirgate audit trail bucket is versioned, KMS-encrypted and integrity-validated in its region; replicating it to another region (or an organization log archive account) is an account-level choice fhirgate leaves to the operator',
    });
  }
}

/** ARNs of the DynamoDB tables in the stack (L1 resources, whichever construct made them). */
function tableArns(stack: Stack): string[] {
  return stack.node
    .findAll()
    .filter((c: IConstruct): c is dynamodb.CfnTable | dynamodb.CfnGlobalTable => c instanceof dynamodb.CfnTable || c instanceof dynamodb.CfnGlobalTable)
    .map((t) => t.attrArn);
}
