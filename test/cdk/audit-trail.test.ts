/**
 * The optional CloudTrail trail (`-c cloudTrail=true`): data events for every DynamoDB table of
 * the stack and the HealthLake data store, management events for KMS use, advanced selectors
 * only; a CMK CloudTrail may use for this trail alone, log file validation, and a bucket that is
 * TLS-only, never public, versioned, access-logged and expired by lifecycle. Off by default.
 * Synthesized without bundling, with both nag packs.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DATA_EVENT_RESOURCE_TYPES } from '../../lib/audit-trail';
import { acknowledgements, nagViolations, resourcesOfType, Synthesized, synthesize } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthesize({ stackName: 'FhirgateTrail', cloudTrail: 'true' });
});

const id = (element: unknown) => s.stack.getLogicalId(element as CfnElement);
const trail = () => resourcesOfType(s.template, 'AWS::CloudTrail::Trail')[0]![1];
type FieldSelector = { Field: string; Equals?: unknown[]; StartsWith?: unknown[] };
const selector = (name: string) => (trail().AdvancedEventSelectors as { Name: string; FieldSelectors: FieldSelector[] }[]).find((sel) => sel.Name === name)!.FieldSelectors;
const field = (selectors: FieldSelector[], name: string) => selectors.find((f) => f.Field === name)!;
const trailArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':trail/FhirgateTrail-audit']] };

describe('what it logs', () => {
  test('advanced event selectors only (a trail takes basic or advanced, never both)', () => {
    expect(trail().EventSelectors).toBeUndefined();
    expect((trail().AdvancedEventSelectors as { Name: string }[]).map((sel) => sel.Name).sort()).toEqual(['Management events (KMS key use included)', 'fhirgate DynamoDB tables', 'fhirgate HealthLake data store']);
  });

  test('DynamoDB data events for exactly the tables of the stack, each by ARN', () => {
    const tables = selector('fhirgate DynamoDB tables');
    expect(field(tables, 'eventCategory').Equals).toEqual(['Data']);
    expect(field(tables, 'resources.type').Equals).toEqual([DATA_EVENT_RESOURCE_TYPES.dynamodb]);
    const all = resourcesOfType(s.template, 'AWS::DynamoDB::Table').map(([tableId]) => ({ 'Fn::GetAtt': [tableId, 'Arn'] }));
    expect(all.length).toBeGreaterThanOrEqual(3); // links, client registry, replay store
    expect(field(tables, 'resources.ARN').Equals).toEqual(expect.arrayContaining(all));
    expect(field(tables, 'resources.ARN').Equals).toHaveLength(all.length);
  });

  test('HealthLake data events for the data store', () => {
    const store = selector('fhirgate HealthLake data store');
    expect(field(store, 'eventCategory').Equals).toEqual(['Data']);
    expect(field(store, 'resources.type').Equals).toEqual([DATA_EVENT_RESOURCE_TYPES.healthlake]);
    expect(field(store, 'resources.ARN').StartsWith).toEqual([{ 'Fn::GetAtt': [id(s.stack.backend.datastore), 'DatastoreArn'] }]);
  });

  test('management events, where CloudTrail records KMS use (KMS has no data events)', () => {
    expect(selector('Management events (KMS key use included)')).toEqual([{ Field: 'eventCategory', Equals: ['Management'] }]);
  });

  test('single-region, logging, log file validation on, encrypted with its own key', () => {
    expect(trail()).toMatchObject({
      TrailName: 'FhirgateTrail-audit',
      IsLogging: true,
      IsMultiRegionTrail: false,
      IncludeGlobalServiceEvents: false,
      EnableLogFileValidation: true,
      KMSKeyId: { 'Fn::GetAtt': [id(s.stack.auditTrail!.key.node.defaultChild), 'Arn'] },
      S3BucketName: { Ref: id(s.stack.auditTrail!.bucket.node.defaultChild) },
    });
  });
});

describe('where it goes', () => {
  test('the key rotates, is kept, and lets CloudTrail encrypt for this trail only', () => {
    const key = s.template.toJSON().Resources[id(s.stack.auditTrail!.key.node.defaultChild)];
    expect(key).toMatchObject({ DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'kms:GenerateDataKey*', Condition: expect.objectContaining({ StringEquals: { 'aws:SourceArn': trailArn } }) }),
      ]),
    );
  });

  test('the bucket: KMS, public access blocked, TLS only, versioned, access-logged, Glacier IR after 90 days, deleted after six years, kept', () => {
    const bucket = s.template.toJSON().Resources[id(s.stack.auditTrail!.bucket.node.defaultChild)];
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: id(s.stack.auditTrail!.accessLogs.node.defaultChild) } },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 2192, Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] })] },
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id(s.stack.auditTrail!.bucket.node.defaultChild) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Action: 's3:GetBucketAcl', Principal: { Service: 'cloudtrail.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceArn': trailArn } } }),
          Match.objectLike({ Action: 's3:PutObject', Principal: { Service: 'cloudtrail.amazonaws.com' }, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } } }),
        ]),
      },
    });
  });

  test('the trail is created after the bucket policy and key it needs (CloudTrail checks them at creation)', () => {
    const [trailId] = resourcesOfType(s.template, 'AWS::CloudTrail::Trail')[0]!;
    const dependsOn = s.template.toJSON().Resources[trailId].DependsOn as string[];
    expect(dependsOn).toEqual(expect.arrayContaining([id(s.stack.auditTrail!.bucket.policy!.node.defaultChild), id(s.stack.auditTrail!.key.node.defaultChild)]));
  });
});

describe('cdk-nag', () => {
  test('nothing unacknowledged with the trail on', () => {
    expect(nagViolations(s.app)).toEqual([]);
  });

  test('each acknowledgement under the trail says it is the audit trail, and why', () => {
    const acks = acknowledgements(s.app).filter((a) => a.path.includes('/AuditTrail/'));
    expect(acks.map((a) => a.rule).sort()).toEqual([
      'HIPAA.Security-CloudTrailCloudWatchLogsEnabled',
      'HIPAA.Security-S3BucketReplicationEnabled',
      'HIPAA.Security-S3BucketReplicationEnabled',
      'HIPAA.Security-S3BucketVersioningEnabled',
      'HIPAA.Security-S3DefaultEncryptionKMS',
    ]);
    for (const a of acks) expect(a.reason).toMatch(/fhirgate audit trail/);
  });
});

test('off by default: no trail, no trail bucket', () => {
  const plain = synthesize({ stackName: 'FhirgateNoTrail' });
  plain.template.resourceCountIs('AWS::CloudTrail::Trail', 0);
  expect(plain.stack.auditTrail).toBeUndefined();
  expect(Object.keys(plain.template.toJSON().Outputs)).not.toContain('AuditTrailBucketName');
});

test('with a URL backend there is no data store to select', () => {
  const url = synthesize({ stackName: 'FhirgateTrailUrl', cloudTrail: 'true', backendUrl: 'https://fhir.example.org/r4' });
  const names = (resourcesOfType(url.template, 'AWS::CloudTrail::Trail')[0]![1].AdvancedEventSelectors as { Name: string }[]).map((sel) => sel.Name);
  expect(names.sort()).toEqual(['Management events (KMS key use included)', 'fhirgate DynamoDB tables']);
});
