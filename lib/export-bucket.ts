/**
 * Bulk Data `$export` on AWS HealthLake: the S3 bucket the data store writes NDJSON to, the
 * data-access role HealthLake assumes to write there, and what the FHIR proxy may do with both.
 *
 * HealthLake's native FHIR `$export`
 * (https://docs.aws.amazon.com/healthlake/latest/devguide/reference-fhir-operations-export.html)
 * writes one S3 object per resource type, encrypted with the KMS key named in the request, as the
 * data-access role; the caller passes that role (`iam:PassRole`). Permissions of the role follow
 * https://docs.aws.amazon.com/healthlake/latest/devguide/export-permissions.html: the bucket must
 * block all public access and be KMS-encrypted; the role may list the bucket, read its public
 * access block and encryption configuration, put objects, and use the key.
 *
 * Files are PHI: encrypted with the data store's key, TLS-only, never public, expired by a
 * lifecycle rule (default one day, S3's smallest unit), and read only by the proxy, which
 * streams them to the client that started the job after checking its token again.
 */
import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXPORT_ENV } from '../functions/fhir-proxy/export-config';
import type { FhirgateFunction } from './fhirgate-function';

/**
 * Each export interaction of the proxy and the HealthLake IAM action that authorizes it. The
 * FHIR REST `$export` has its own actions, separate from the SDK's StartFHIRExportJob
 * (export-permissions.html, "Important").
 */
export const HEALTHLAKE_EXPORT_ACTIONS = {
  'kick-off (POST [base|Patient|Group/id]/$export)': 'healthlake:StartFHIRExportJobWithPost',
  'status (GET export/{jobId})': 'healthlake:DescribeFHIRExportJobWithGet',
  'cancel (DELETE export/{jobId})': 'healthlake:CancelFHIRExportJobWithDelete',
} as const;

export interface ExportBucketProps {
  /** The data store that exports. */
  readonly datastore: healthlake.CfnFHIRDatastore;
  /** Key the files are encrypted with: the data store's own key. */
  readonly key: kms.IKey;
  /**
   * Days an export file is kept before S3 deletes it (S3 lifecycle expiration is in whole days).
   * The proxy stops answering for a job after the same time.
   * @default 1
   */
  readonly expirationDays?: number;
  /** @default RemovalPolicy.RETAIN (it may hold PHI until the lifecycle rule removes it) */
  readonly removalPolicy?: RemovalPolicy;
}

export class ExportBucket extends Construct {
  readonly bucket: s3.Bucket;
  /** Server access logs of the export bucket (who read which file, from S3's side). */
  readonly accessLogs: s3.Bucket;
  /** The role HealthLake assumes to write the files. */
  readonly dataAccessRole: iam.Role;
  /** Key prefix of every export. */
  readonly prefix = 'exports/';
  readonly expirationDays: number;
  private readonly props: ExportBucketProps;

  constructor(scope: Construct, id: string, props: ExportBucketProps) {
    super(scope, id);
    const expirationDays = props.expirationDays ?? 1;
    if (!(Number.isInteger(expirationDays) && expirationDays >= 1 && expirationDays <= 365)) {
      throw new TypeError('ExportBucket: expirationDays must be a whole number of days, 1 to 365');
    }
    this.expirationDays = expirationDays;
    this.props = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true, // a bucket policy denying every request without TLS
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ expiration: Duration.days(expirationDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'export-bucket/',
      removalPolicy,
    });

    const stack = Stack.of(this);
    this.dataAccessRole = new iam.Role(this, 'DataAccessRole', {
      description: 'Assumed by HealthLake to write fhirgate bulk export files',
      // Confused-deputy guard: only this account's data store may assume it.
      assumedBy: new iam.ServicePrincipal('healthlake.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnEquals: { 'aws:SourceArn': props.datastore.attrDatastoreArn },
      }),
    });
    // A managed policy, not an inline one (HIPAA.Security-IAMNoInlinePolicy), as for the functions.
    const writePolicy = new iam.ManagedPolicy(this, 'DataAccessPolicy', {
      description: 'HealthLake writes fhirgate bulk export files',
      roles: [this.dataAccessRole],
      statements: [
        new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketPublicAccessBlock', 's3:GetEncryptionConfiguration'], resources: [this.bucket.bucketArn] }),
        new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${this.prefix}*`)] }),
        new iam.PolicyStatement({ actions: ['kms:DescribeKey', 'kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.key.keyArn] }),
      ],
    });

    Validations.of(writePolicy).acknowledge({
      id: this.objectsFinding(),
      reason: 'HealthLake names each bulk export object itself (one per job and type); the data-access role may put objects only under the export prefix of this one bucket',
    });
    for (const [id, reason] of [
      ['HIPAA.Security-S3DefaultEncryptionKMS', 'The bulk export access log bucket must use SSE-S3: S3 server access log delivery does not support KMS-encrypted target buckets'],
      ['HIPAA.Security-S3BucketReplicationEnabled', 'The bulk export access log bucket holds request logs kept for a year; cross-region replication is left to the account logging policy'],
      ['HIPAA.Security-S3BucketVersioningEnabled', 'The bulk export access log bucket is written only by S3 log delivery (bucket owner enforced); versioning would keep deleted log objects past their lifecycle'],
    ] as const) {
      Validations.of(this.accessLogs).acknowledge({ id, reason });
    }
    for (const [id, reason] of [
      ['HIPAA.Security-S3BucketReplicationEnabled', 'The bulk export bucket holds short-lived copies (expired after days) that the data store can produce again; replicating PHI to another region would add a copy to protect, not a backup worth having'],
      ['HIPAA.Security-S3BucketVersioningEnabled', 'The bulk export bucket holds short-lived copies the data store can produce again; versions would keep PHI past the lifecycle expiry that bounds its exposure'],
    ] as const) {
      Validations.of(this.bucket).acknowledge({ id, reason });
    }
  }

  /**
   * What the FHIR proxy needs: the three FHIR REST export actions on the data store, passing the
   * data-access role to HealthLake only, and reading files under the export prefix (decrypting
   * with the key only through S3).
   */
  proxyStatements(): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    return [
      new iam.PolicyStatement({ actions: Object.values(HEALTHLAKE_EXPORT_ACTIONS), resources: [this.props.datastore.attrDatastoreArn] }),
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.dataAccessRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'healthlake.amazonaws.com' } },
      }),
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`${this.prefix}*`)] }),
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    ];
  }

  /**
   * Give the proxy its export permissions and acknowledge the one wildcard among them (object
   * keys under the export prefix), which only this construct can explain.
   */
  grantTo(proxy: FhirgateFunction): void {
    proxy.allow(...this.proxyStatements());
    Validations.of(proxy.policy).acknowledge({
      id: this.objectsFinding(),
      reason: 'The FHIR proxy streams bulk export files whose names HealthLake chooses per job and type; it may read objects only under the export prefix of this one bucket',
    });
  }

  /** cdk-nag's finding id for a wildcard on the export objects (it names the bucket's logical id). */
  private objectsFinding(): string {
    return `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/${this.prefix}*]`;
  }

  /** The proxy's environment for exports (read by functions/fhir-proxy/export-config.ts). */
  proxyEnvironment(): Record<string, string> {
    return {
      [EXPORT_ENV.bucket]: this.bucket.bucketName,
      [EXPORT_ENV.prefix]: this.prefix,
      [EXPORT_ENV.kmsKeyArn]: this.props.key.keyArn,
      [EXPORT_ENV.roleArn]: this.dataAccessRole.roleArn,
      [EXPORT_ENV.maxAgeSeconds]: String(this.expirationDays * 86_400),
    };
  }
}
