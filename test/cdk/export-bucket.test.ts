/**
 * Bulk Data `$export` on AWS (lib/export-bucket.ts) in the deployable stack: the export bucket
 * (the data store's KMS key, public access blocked, TLS-only policy, lifecycle expiry, access
 * logs), HealthLake's data-access role, and exactly what the proxy may do with them. Also the
 * interaction → HealthLake action table. cdk-nag over the whole stack is test/cdk/nag.test.ts.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { CfnElement } from 'aws-cdk-lib';
import { EXPORT_ENV } from '../../functions/fhir-proxy/export-config';
import { ExportBucket, HEALTHLAKE_EXPORT_ACTIONS } from '../../lib/export-bucket';
import { FhirgateStack } from '../../lib/fhirgate-stack';
import { cdkJson, Synthesized, synthesize } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

const id = (element: unknown) => s.stack.getLogicalId(element as CfnElement);
const ref = (element: unknown) => ({ Ref: id(element) });
const arn = (element: unknown) => ({ 'Fn::GetAtt': [id(element), 'Arn'] });
const keyArn = () => arn(s.stack.backend.key!.node.defaultChild);
const datastoreArn = () => ({ 'Fn::GetAtt': [id(s.stack.backend.datastore), 'DatastoreArn'] });
const bucketOf = () => s.stack.exportBucket!;

/** Every statement of every inline policy attached to the role of the given function. */
function statementsOfRole(roleLogicalId: string): any[] {
  const resources = s.template.toJSON().Resources as Record<string, any>;
  return Object.values(resources)
    .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && (r.Properties.Roles ?? []).some((x: any) => x.Ref === roleLogicalId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}
const proxyStatements = () => statementsOfRole(id(s.stack.proxy.function.role!.node.defaultChild));
const actionsOf = (st: any): string[] => [st.Action].flat();

test('interaction → HealthLake action table: the FHIR REST export actions, not the SDK ones', () => {
  expect(HEALTHLAKE_EXPORT_ACTIONS).toEqual({
    'kick-off (POST [base|Patient|Group/id]/$export)': 'healthlake:StartFHIRExportJobWithPost',
    'status (GET export/{jobId})': 'healthlake:DescribeFHIRExportJobWithGet',
    'cancel (DELETE export/{jobId})': 'healthlake:CancelFHIRExportJobWithDelete',
  });
  const granted = proxyStatements().flatMap(actionsOf);
  for (const action of Object.values(HEALTHLAKE_EXPORT_ACTIONS)) expect(granted).toContain(action);
  expect(granted).not.toContain('healthlake:StartFHIRExportJob');
  expect(granted.filter((a) => a.includes('*'))).toEqual([]);
  const exportStatement = proxyStatements().find((st) => actionsOf(st).includes('healthlake:StartFHIRExportJobWithPost'));
  expect(exportStatement.Resource).toEqual(datastoreArn());
});

test('bucket: the data store key (SSE-KMS, bucket key), all public access blocked, access logs, lifecycle expiry of 1 day', () => {
  s.template.hasResourceProperties('AWS::S3::Bucket', {
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn() } }] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    LoggingConfiguration: { DestinationBucketName: ref(bucketOf().accessLogs.node.defaultChild), LogFilePrefix: 'export-bucket/' },
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 1, Status: 'Enabled' })]) },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  });
});

test('bucket policy denies every request without TLS', () => {
  s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: ref(bucketOf().bucket.node.defaultChild),
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
  });
});

test('data-access role: assumable by HealthLake for this data store only; writes under the prefix, nothing else', () => {
  s.template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'healthlake.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnEquals: { 'aws:SourceArn': datastoreArn() } },
        },
      ],
    },
  });
  const statements = statementsOfRole(id(bucketOf().dataAccessRole.node.defaultChild));
  expect(statements.flatMap(actionsOf).sort()).toEqual(
    ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey', 's3:GetBucketPublicAccessBlock', 's3:GetEncryptionConfiguration', 's3:ListBucket', 's3:PutObject'].sort(),
  );
  const put = statements.find((st) => actionsOf(st).includes('s3:PutObject'));
  expect(JSON.stringify(put.Resource)).toContain('/exports/*');
});

test('proxy: passes only that role, only to HealthLake; reads only export objects; decrypts only via S3', () => {
  const statements = proxyStatements();
  const pass = statements.find((st) => actionsOf(st).includes('iam:PassRole'));
  expect(pass).toMatchObject({ Resource: arn(bucketOf().dataAccessRole.node.defaultChild), Condition: { StringEquals: { 'iam:PassedToService': 'healthlake.amazonaws.com' } } });
  const get = statements.find((st) => actionsOf(st).includes('s3:GetObject'));
  expect(actionsOf(get)).toEqual(['s3:GetObject']);
  expect(JSON.stringify(get.Resource)).toContain('/exports/*');
  const s3Decrypt = statements.find((st) => actionsOf(st).includes('kms:Decrypt') && JSON.stringify(st.Condition ?? {}).includes('s3.'));
  expect(s3Decrypt.Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] });
  expect(statements.flatMap(actionsOf)).not.toContain('s3:PutObject');
});

test('proxy environment names the bucket, prefix, key, role and the job lifetime (= lifecycle expiry)', () => {
  const env = s.template.toJSON().Resources[id(s.stack.proxy.function.node.defaultChild)].Properties.Environment.Variables;
  expect(env).toMatchObject({
    [EXPORT_ENV.bucket]: ref(bucketOf().bucket.node.defaultChild),
    [EXPORT_ENV.prefix]: 'exports/',
    [EXPORT_ENV.kmsKeyArn]: keyArn(),
    [EXPORT_ENV.roleArn]: arn(bucketOf().dataAccessRole.node.defaultChild),
    [EXPORT_ENV.maxAgeSeconds]: '86400',
  });
});

test('expiry is configurable in whole days; bad values are refused before anything is created', () => {
  const stack = new Stack(new App({ context: cdkJson.context }), 'T'); // cdk.json flags: access logs by bucket policy
  const key = new kms.Key(stack, 'K');
  const datastore = new healthlake.CfnFHIRDatastore(stack, 'D', { datastoreTypeVersion: 'R4' });
  const bucket = new ExportBucket(stack, 'E', { datastore, key, expirationDays: 7 });
  Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) } });
  expect(bucket.proxyEnvironment()[EXPORT_ENV.maxAgeSeconds]).toBe(String(7 * 86_400));
  expect(() => new ExportBucket(stack, 'E0', { datastore, key, expirationDays: 0 })).toThrow(TypeError);
  expect(() => new FhirgateStack(new App(), 'S', { exportExpirationDays: 1.5 })).toThrow(/exportExpirationDays/);
});

test('a URL backend (no HealthLake) gets no export bucket and no export permissions', () => {
  const stack = new FhirgateStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'U', { settings: { backend: { kind: 'url', url: 'https://fhir.example.com/r4' } } });
  expect(stack.exportBucket).toBeUndefined();
  expect(Template.fromStack(stack).findResources('AWS::S3::Bucket')).toEqual({});
});
