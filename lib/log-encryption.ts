/**
 * One customer-managed key for every fhirgate log group (Lambda, API Gateway access logs, WAF).
 * Logs carry audit lines (who read which patient's data, why a request was refused), so they are
 * encrypted like the data (HIPAA "CloudWatchLogGroupEncrypted"). CloudWatch Logs may use the key
 * only for log groups of this account and region.
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Retention of every fhirgate log group unless the operator sets one: six years. The proxy's
 * log holds the audit trail (who read which patient's data, and why a request was refused), and
 * HIPAA keeps required documentation six years (45 CFR 164.316(b)(2)(i)).
 */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.SIX_YEARS;

export class LogEncryptionKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'fhirgate CloudWatch Logs encryption',
      enableKeyRotation: true,
      // Retained with the log groups it decrypts (they are retained too).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }
}
