/**
 * The one Lambda shape every fhirgate function has: Node.js 24 on arm64, an esbuild-minified
 * bundle (local esbuild, never Docker) with the AWS SDK v3 (and its Smithy packages) left to the
 * runtime, X-Ray tracing, its own encrypted log group with a retention, and a role whose only
 * permissions are the statements this construct is given.
 *
 * Permissions: the role carries ONE customer-managed policy (no inline policies — HIPAA
 * "IAMNoInlinePolicy" — and no AWS managed policy such as AWSLambdaBasicExecutionRole, which
 * grants logs on `*`). The function sees the role through `withoutPolicyUpdates()`, so CDK
 * helpers that would quietly add an inline DefaultPolicy (`table.grantReadData(fn)`, the
 * X-Ray statement of `tracing`) have no effect: every permission goes through `allow()`, and the
 * CDK tests list them.
 */
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { cdkBundling } from './function-bundle';
import { DEFAULT_LOG_RETENTION } from './log-encryption';

const DEFAULT_OUTBOUND_CALLS = 'Cognito JWKS, DynamoDB, KMS, and the FHIR backend: HealthLake with SigV4 or the configured https URL';

/** Memory of a function that does not set its own (the authorizer, the token service). */
export const DEFAULT_MEMORY_MB = 256;

/** Repository root: the entry paths and the lock file are resolved from here. */
export const PROJECT_ROOT = join(__dirname, '..');

export interface FhirgateFunctionProps {
  /** Handler module, relative to the repository root (`functions/authorizer/index.ts`). */
  readonly entry: string;
  /** What the function is for, in a few words (description, and named in nag acknowledgements). */
  readonly purpose: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default 256 */
  readonly memorySize?: number;
  /** Node.js flags in `NODE_OPTIONS` (e.g. lib/runtime-flags.ts). @default none */
  readonly nodeFlags?: readonly string[];
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** Key that encrypts the log group (CloudWatch Logs must be allowed to use it). */
  readonly logKey: kms.IKey;
  /** @default DEFAULT_LOG_RETENTION (six years) */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency; also the function's ceiling.
   * @default - none: the function shares the account pool, bounded by API Gateway throttling
   */
  readonly reservedConcurrency?: number;
  /**
   * Ship source maps (`NODE_OPTIONS=--enable-source-maps`): readable stack traces, bigger bundle
   * and slower cold start.
   * @default false
   */
  readonly sourceMap?: boolean;
  /**
   * What the function calls over the network, in words (named in its LambdaInsideVPC acknowledgement).
   * @default 'Cognito JWKS, DynamoDB, KMS, and the FHIR backend: HealthLake with SigV4 or the configured https URL'
   */
  readonly outboundCalls?: string;
  /**
   * The AWS Parameters and Secrets Lambda Extension layer (a localhost cache in front of Secrets
   * Manager), for a function that reads a secret without an SDK client; its role still needs
   * GetSecretValue on that secret (`allow()`).
   * @default - none
   */
  readonly paramsAndSecrets?: lambda.ParamsAndSecretsLayerVersion;
}

/** Node.js 24 on arm64, bundled by local esbuild, traced, logging to its own encrypted log group. */
export class FhirgateFunction extends nodejs.NodejsFunction {
  /** The function's execution role (its only permissions are in `policy`). */
  readonly executionRole: iam.Role;
  /** The one customer-managed policy attached to `executionRole`. */
  readonly policy: iam.ManagedPolicy;
  /** Its own log group (encrypted, with retention). */
  readonly functionLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FhirgateFunctionProps) {
    // Siblings, not children: they must exist before super() and the function needs them.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
      encryptionKey: props.logKey,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `fhirgate ${props.purpose}`,
    });
    const policy = new iam.ManagedPolicy(scope, `${id}Policy`, {
      description: `fhirgate ${props.purpose}: the function's only permissions`,
      roles: [role],
      statements: [
        // Its own log group only (the log group ARN already ends in ":*", covering its streams).
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
        // X-Ray has no resource-level permissions: AWS requires "*" here (acknowledged below).
        new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
      ],
    });

    const nodeOptions = [...(props.nodeFlags ?? []), ...(props.sourceMap ? ['--enable-source-maps'] : [])];
    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: `fhirgate ${props.purpose}`,
      // nodejs22.x is deprecated on 2027-04-30; nodejs24.x is the current LTS runtime
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role: role.withoutPolicyUpdates(),
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        ...props.environment,
        ...(nodeOptions.length > 0 ? { NODE_OPTIONS: nodeOptions.join(' ') } : {}),
      },
      bundling: cdkBundling({ sourceMap: props.sourceMap ?? false }),
      paramsAndSecrets: props.paramsAndSecrets,
    });
    this.executionRole = role;
    this.policy = policy;
    this.functionLogGroup = logGroup;
    // The function references its role, not the policy attached to it, so CloudFormation may
    // create both at once: CreateFunction then rejects TracingConfig Active because the role
    // "does not have permissions to call PutTraceSegments" yet. Every permission the function
    // needs at creation must exist before it (DependsOn). A known race, e.g.
    // https://github.com/aws/aws-cdk/issues/4176 and aws/serverless-application-model#225.
    this.node.addDependency(policy);

    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `X-Ray tracing of the fhirgate ${props.purpose}: xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so AWS requires Resource "*"; every other statement names one ARN`,
    });
    Validations.of(this).acknowledge(
      {
        id: 'HIPAA.Security-LambdaDLQ',
        reason: `The fhirgate ${props.purpose} is only invoked synchronously by API Gateway; a dead-letter queue applies to asynchronous invocations, and a failed call is returned to the client (fail closed)`,
      },
      {
        id: 'HIPAA.Security-LambdaInsideVPC',
        reason: `The fhirgate ${props.purpose} calls only public HTTPS endpoints (${props.outboundCalls ?? DEFAULT_OUTBOUND_CALLS}) and needs no private network; a VPC would add NAT cost and cold-start latency without reducing exposure`,
      },
    );
    if (props.reservedConcurrency === undefined) {
      Validations.of(this).acknowledge({
        id: 'HIPAA.Security-LambdaConcurrency',
        reason: `Reserved concurrency for the fhirgate ${props.purpose} is opt-in (props.reservedConcurrency): new accounts have a concurrency quota of 10, where reserving fails the deploy; API Gateway stage throttling bounds the load instead`,
      });
    }
  }

  /** Add statements to the function's managed policy (the only way it gains permissions). */
  allow(...statements: iam.PolicyStatement[]): void {
    this.policy.addStatements(...statements);
  }
}
