/**
 * Optional AWS WAF in front of the API stage: AWS managed common and known-bad-input rules, and a
 * per-IP rate limit. Requests are logged to an encrypted log group with the Authorization header
 * and the query string redacted (tokens and search values never reach WAF logs).
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface FhirgateWafProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /**
   * Requests one client IP may send in any 5-minute window before it is blocked.
   * @default 3000
   */
  readonly rateLimitPer5Minutes?: number;
  readonly logKey: kms.IKey;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

export class FhirgateWaf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FhirgateWafProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: false, // samples would hold request details (PHI in URLs)
      metricName: `fhirgate-${name}`,
    });
    const managed = (priority: number, name: string, overrides: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: metric(name),
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: metric('web-acl'),
      rules: [
        {
          name: 'rate-limit-per-ip',
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: props.rateLimitPer5Minutes ?? 3000 } },
          visibilityConfig: metric('rate-limit'),
        },
        // SizeRestrictions_BODY blocks bodies over 8 KB; FHIR resources and transaction Bundles
        // are routinely larger, and the proxy enforces its own body limit. Counted, not blocked.
        managed(1, 'AWSManagedRulesCommonRuleSet', ['SizeRestrictions_BODY']),
        managed(2, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });

    // WAF only logs to log groups whose name starts with "aws-waf-logs-".
    const logGroupName = `aws-waf-logs-${stack.stackName}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // The log group ARN without the trailing ":*" that LogGroup.logGroupArn carries.
      logDestinationConfigs: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { queryString: {} }],
    });
    logging.node.addDependency(this.logGroup);
  }
}
