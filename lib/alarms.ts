/**
 * CloudWatch alarms for what an operator must hear about, published to one encrypted SNS topic
 * (subscribe your pager or email to it):
 *
 * | alarm | metric | why |
 * |---|---|---|
 * | API 5xx | AWS/ApiGateway 5XXError | fhirgate failed closed: a dependency or function is down |
 * | API throttled (429) | access-log metric filter on `status = 429` | callers hit the stage, route or backend limits |
 * | authorizer errors | AWS/Lambda Errors + Throttles of the authorizer | every protected request fails 500 while it errors |
 * | FHIR backend failures | proxy audit-line filter on status 429/502/504 | HealthLake throttling (its per-account quotas), errors or timeouts |
 * | token service errors | AWS/Lambda Errors of the token service | the function crashed or timed out: no token is issued |
 * | KMS throttled | fhirgate's `KmsThrottled` metric (EMF) of the token service and the proxy | KMS refused Sign or GenerateMac/VerifyMac past its request quota: tokens or paging links fail |
 * | removed-entry spike | proxy audit-line filter, sum of `removed` | the backend returned records the caller may not see, far more than usual |
 *
 * Metric filters read the log groups the stack already has, so they work whichever logger wrote
 * the line (the audit keys are top-level JSON either way). KMS failures never reach Lambda's
 * `Errors` (the signers answer 503/502 themselves), so KMS throttling is counted by the functions
 * (functions/adapters/kms-throttles.ts) and alarmed on here, per `service` dimension as the
 * functions publish it. Thresholds are props with defaults.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { KMS_THROTTLED_METRIC } from '../functions/adapters/kms-throttles';
import { METRIC_SERVICES, METRICS_NAMESPACE } from '../functions/common/metrics';

/** Alarm thresholds, per 5-minute period. */
export interface AlarmThresholds {
  /** @default 5 */
  readonly api5xx?: number;
  /** @default 50 */
  readonly throttled?: number;
  /** @default 1 */
  readonly authorizerErrors?: number;
  /** @default 5 */
  readonly backendFailures?: number;
  /** @default 1 */
  readonly tokenServiceErrors?: number;
  /** @default 1 */
  readonly kmsThrottled?: number;
  /** @default 100 */
  readonly removedEntries?: number;
}

export const DEFAULT_ALARM_THRESHOLDS: Required<AlarmThresholds> = { api5xx: 5, throttled: 50, authorizerErrors: 1, backendFailures: 5, tokenServiceErrors: 1, kmsThrottled: 1, removedEntries: 100 };

export interface FhirgateAlarmsProps {
  readonly restApiName: string;
  readonly stageName: string;
  readonly accessLogGroup: logs.ILogGroup;
  readonly proxyLogGroup: logs.ILogGroup;
  readonly authorizer: lambda.IFunction;
  readonly tokenService: lambda.IFunction;
  /** @default DEFAULT_ALARM_THRESHOLDS */
  readonly thresholds?: AlarmThresholds;
}

export class FhirgateAlarms extends Construct {
  /** Subscribe operators here (email, chat, pager). */
  readonly topic: sns.Topic;
  readonly alarms: Readonly<Record<keyof AlarmThresholds, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: FhirgateAlarmsProps) {
    super(scope, id);
    const t = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };
    const period = Duration.minutes(5);
    // CloudWatch publishes to an encrypted topic only with the key's permission
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
    const key = new kms.Key(this, 'TopicKey', { description: 'fhirgate alarm topic encryption', enableKeyRotation: true });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'fhirgate alarms', masterKey: key, enforceSSL: true });

    const filtered = (name: string, group: logs.ILogGroup, pattern: string, value = '1') => {
      new logs.MetricFilter(this, `${name}Filter`, {
        logGroup: group,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: 'fhirgate',
        metricName: name,
        metricValue: value,
        defaultValue: 0,
      });
      return new cloudwatch.Metric({ namespace: 'fhirgate', metricName: name, statistic: 'Sum', period });
    };
    // What a function publishes as EMF: exactly the dimensions it records plus `service`.
    const ownMetric = (service: string, metricName: string) => new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic: 'Sum', period });
    const lambdaMetric = (fn: lambda.IFunction, metricName: string) => new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, dimensionsMap: { FunctionName: fn.functionName }, statistic: 'Sum', period });
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `fhirgate: ${description}`,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      return a;
    };

    this.alarms = {
      api5xx: alarm('Api5xx', new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: '5XXError', dimensionsMap: { ApiName: props.restApiName, Stage: props.stageName }, statistic: 'Sum', period }), t.api5xx, 'API Gateway answered 5xx (fail closed: a dependency or function is failing)'),
      throttled: alarm('Throttled', filtered('Throttled', props.accessLogGroup, '{ $.status = "429" }'), t.throttled, 'requests throttled (429) by the stage, a route or the backend'),
      authorizerErrors: alarm('AuthorizerErrors', new cloudwatch.MathExpression({ expression: 'e + t', usingMetrics: { e: lambdaMetric(props.authorizer, 'Errors'), t: lambdaMetric(props.authorizer, 'Throttles') }, period }), t.authorizerErrors, 'the token authorizer errored or was throttled (protected requests fail)'),
      backendFailures: alarm('BackendFailures', filtered('BackendFailures', props.proxyLogGroup, '{ $.event = "fhir.access" && ($.status = 429 || $.status = 502 || $.status = 504) }'), t.backendFailures, 'the FHIR backend throttled (HealthLake quotas), failed or timed out'),
      tokenServiceErrors: alarm('TokenServiceErrors', lambdaMetric(props.tokenService, 'Errors'), t.tokenServiceErrors, 'the token service crashed or timed out (no token issued)'),
      kmsThrottled: alarm(
        'KmsThrottled',
        new cloudwatch.MathExpression({
          expression: 'tokens + paging',
          usingMetrics: { tokens: ownMetric(METRIC_SERVICES.tokenService, KMS_THROTTLED_METRIC), paging: ownMetric(METRIC_SERVICES.proxy, KMS_THROTTLED_METRIC) },
          period,
        }),
        t.kmsThrottled,
        'KMS throttled the token service (Sign: no token issued) or the proxy (GenerateMac/VerifyMac: paging links fail)',
      ),
      removedEntries: alarm('RemovedEntries', filtered('RemovedEntries', props.proxyLogGroup, '{ $.event = "fhir.access" && $.removed > 0 }', '$.removed'), t.removedEntries, 'the PEP removed unusually many entries from backend responses'),
    };
  }
}
