/**
 * First-party SMART apps registered by the stack itself (the example portal, your own frontend):
 * one CloudFormation custom resource per app writes the registration into the app registry at
 * deploy, in the item shape the token service reads (`appToItem`, after the token service's own
 * `checkAppClient`), and marks it `revoked` when the app is removed from the stack. The same
 * registration `fhirgate apps register` writes — done by the deploy, so a fresh stack's portal
 * launches without an operator step, and a change to its redirect URIs is reviewed as code.
 *
 * Why a custom resource (`AwsCustomResource`, one DynamoDB call, no code of ours): CloudFormation
 * has no resource for a DynamoDB item. Its singleton Lambda is made to look like every fhirgate
 * function: its own role with ONE customer-managed policy (no inline policy, no AWS managed
 * policy), an encrypted log group with the stack's retention, X-Ray tracing, and a DependsOn on
 * that policy (the first-deploy race of lib/fhirgate-function.ts). Its only data permissions:
 * PutItem and UpdateItem on the registry.
 *
 * The stack owns these client ids: a deploy that changes an app's registration writes it whole
 * (an operator's `fhirgate apps revoke` of a first-party app lasts until then); to retire one,
 * remove it from the stack.
 *
 * Each app's construct id is its client id, so reordering the list changes nothing, and renaming
 * a client id registers the new one and revokes the old one (the old resource's Delete).
 * The singleton is shared by every `AwsCustomResource` in a stack: this is the stack's only one.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { AppClient, checkAppClient } from '../functions/core/app-launch';
import { appToItem } from '../functions/token-exchange/app-registry';
import { APPS_TABLE } from '../functions/token-exchange/app-tables';
import type { AppLaunchTables } from './app-tables';
import { DEFAULT_LOG_RETENTION } from './log-encryption';

/** A SMART app the stack registers (a public browser client, like every App Launch app). */
export interface FirstPartyApp {
  /** Its `client_id`: 3..128 of A-Z a-z 0-9 . _ - */
  readonly clientId: string;
  /** Shown to users on fhirgate's patient picker. */
  readonly name: string;
  /** Exact redirect URIs: https, or http on loopback (development). */
  readonly redirectUris: readonly string[];
  /** `openid`, `fhirUser`, `launch/patient`, `offline_access`, `online_access` and `patient/` scopes it may ask for. */
  readonly scopes: readonly string[];
}

export interface FirstPartyAppsProps {
  readonly apps: readonly FirstPartyApp[];
  readonly tables: AppLaunchTables;
  readonly logKey: kms.IKey;
  /** @default DEFAULT_LOG_RETENTION */
  readonly logRetention?: logs.RetentionDays;
}

/** The registrations, and the function that writes them. */
export class FirstPartyApps extends Construct {
  /** The registrations as written (checked with the token service's rule). */
  readonly apps: readonly AppClient[];
  readonly role: iam.Role;
  readonly policy: iam.ManagedPolicy;
  /** The custom-resource singleton function (tracing and DependsOn set here). */
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: FirstPartyAppsProps) {
    super(scope, id);
    if (props.apps.length === 0) throw new TypeError('fhirgate first-party apps: none given');
    this.apps = props.apps.map((app) => checkAppClient({ ...app, status: 'active', redirectUris: [...app.redirectUris], scopes: [...app.scopes] }));
    const table = props.tables.apps;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? DEFAULT_LOG_RETENTION, encryptionKey: props.logKey });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'fhirgate first-party SMART app registrations',
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: "fhirgate first-party SMART app registrations: the custom resource function's only permissions",
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
        new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
        new iam.PolicyStatement({
          sid: 'RegisterFirstPartyApps',
          actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
          // The table, not these client ids (dynamodb:LeadingKeys): an app removed from the stack is
          // revoked in the cleanup phase, after this policy already lists only the remaining ones.
          resources: [table.tableArn],
        }),
        props.tables.decryptThroughDynamoDb('DecryptAppRegistry'),
      ],
    });

    for (const app of this.apps) {
      const key = { [APPS_TABLE.partitionKey]: { S: app.clientId } };
      const registration = new cr.AwsCustomResource(this, app.clientId, {
        resourceType: 'Custom::FhirgateFirstPartyApp',
        // Create and update alike: the registration as the stack says (it replaces a revocation too).
        onUpdate: {
          service: 'DynamoDB',
          action: 'PutItem',
          parameters: { TableName: table.tableName, Item: appToItem(app) },
          physicalResourceId: cr.PhysicalResourceId.of(app.clientId),
        },
        // Removed from the stack: revoked, not deleted — the item stays for audit, like `fhirgate apps revoke`.
        onDelete: {
          service: 'DynamoDB',
          action: 'UpdateItem',
          parameters: {
            TableName: table.tableName,
            Key: key,
            UpdateExpression: 'SET #status = :revoked',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':revoked': { S: 'revoked' } },
          },
        },
        role: this.role,
        logGroup,
        installLatestAwsSdk: false, // the runtime's SDK: no download from npm at deploy
        timeout: Duration.minutes(1),
      });
      registration.node.addDependency(this.policy);
    }

    const singleton = Stack.of(this).node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (!(singleton instanceof lambda.Function)) throw new TypeError('fhirgate first-party apps: the AwsCustomResource function was not found');
    this.function = singleton;
    const cfn = singleton.node.defaultChild as lambda.CfnFunction;
    // AwsCustomResource has no tracing option; every fhirgate function is traced.
    cfn.tracingConfig = { mode: 'Active' };
    singleton.node.addDependency(this.policy);

    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing of the fhirgate first-party SMART app registrations function: xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so AWS requires Resource "*"; its DynamoDB statement names the app registry table',
    });
    Validations.of(cfn).acknowledge(
      {
        id: 'HIPAA.Security-LambdaDLQ',
        reason: 'The fhirgate first-party SMART app registrations function is invoked by CloudFormation only, which waits for its answer and fails the deploy on an error; a dead-letter queue would hold nothing anyone acts on',
      },
      {
        id: 'HIPAA.Security-LambdaInsideVPC',
        reason: 'The fhirgate first-party SMART app registrations function calls only DynamoDB and the CloudFormation response URL, public HTTPS endpoints; it runs at deploy time and needs no private network',
      },
      {
        id: 'HIPAA.Security-LambdaConcurrency',
        reason: 'The fhirgate first-party SMART app registrations function runs once per registration per deploy; reserved concurrency would only take capacity from the account pool',
      },
    );
  }
}
