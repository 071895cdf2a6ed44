/**
 * AWS WAF in front of the API stage (on by default): per-caller and per-address rate limits and
 * the AWS managed common and known-bad-input rules, with overrides chosen for FHIR traffic.
 * Requests are logged to an encrypted log group with the Authorization header and the query
 * string redacted (tokens and search values never reach WAF logs).
 *
 * Rate limits. One address is not one caller here: the API server sends every on-behalf-of
 * request from its own egress address, so a per-IP limit low enough to matter would throttle
 * all of its users at once. So the tight limit is per caller — keyed on the Authorization
 * header, i.e. per token (an exchanged token is one user and one patient) — and the per-IP limit
 * is a flood ceiling set well above one API server's traffic. A request without the header
 * (discovery, the token endpoint, the JWKS) is not counted by the per-caller rule (WAF skips
 * requests that lack a custom key) and is bounded by the per-IP rule and the route throttles.
 * https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatementCustomKey.html
 *
 * Managed rule overrides (Core rule set, counted instead of blocked), each for a FHIR reason:
 * - `SizeRestrictions_BODY` (bodies over 8 KB): FHIR resources and transaction Bundles are
 *   routinely larger; the proxy enforces its own body limit.
 * - `CrossSiteScripting_BODY`: every FHIR resource may carry its narrative as XHTML
 *   (`text.div`, R4 narrative.html), which this rule matches; the PEP parses bodies as JSON and
 *   never renders them.
 * `NoUserAgent_HEADER` stays blocking: fhirgate's own calls through the stage (the authorizer's
 * JWKS fetch) send a User-Agent. Rule names:
 * https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
 *
 * SMART App Launch (`appLaunch`): the browser flow is an authorize GET whose query carries URLs
 * (`redirect_uri`, `aud`), Cognito's redirect back (`code`, `state`), a small form POST (the patient
 * picker) and a cookie; none of it is near a size limit, and none of it is blocked — except one
 * rule: `GenericRFI_QUERYARGUMENTS` blocks query values that are URLs with an IPv4 host, which is
 * what a loopback redirect URI for development is (`http://127.0.0.1:5173/`, RFC 8252 §7.3). With
 * App Launch that rule is counted in the group and re-applied by `rfi-query-except-authorize` (a
 * label match) everywhere but `…/auth/authorize`, whose `redirect_uri` must equal a registered one
 * exactly and is never fetched. Labels of counted rules still apply:
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-label-match-examples.html
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DEFAULT_LOG_RETENTION } from './log-encryption';

/** Core rule set rules counted instead of blocked (see the module comment for why). */
export const COMMON_RULE_SET_COUNTED = ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY'] as const;

/** Counted in the Core rule set with App Launch, and blocked again by a label rule except on the authorize route. */
export const APP_LAUNCH_RELAXED_RULE = { name: 'GenericRFI_QUERYARGUMENTS', label: 'awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments', exceptPathSuffix: '/auth/authorize' } as const;

/** Requests per 5-minute window before WAF blocks. */
export interface WafRateLimits {
  /**
   * Per token (the Authorization header): one user and patient, one machine client.
   * @default 3000 (10 per second sustained)
   */
  readonly perCaller?: number;
  /**
   * Per client address: a flood ceiling; set it above the API server's peak (all its
   * on-behalf-of traffic comes from its egress addresses).
   * @default 30000 (100 per second sustained)
   */
  readonly perIp?: number;
}

export const DEFAULT_WAF_RATE_LIMITS: Required<WafRateLimits> = { perCaller: 3000, perIp: 30000 };

export interface FhirgateWafProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** @default DEFAULT_WAF_RATE_LIMITS */
  readonly rateLimits?: WafRateLimits;
  readonly logKey: kms.IKey;
  /** @default DEFAULT_LOG_RETENTION */
  readonly logRetention?: logs.RetentionDays;
  /** SMART App Launch is served: let loopback redirect URIs through to `…/auth/authorize` (see the module comment). @default false */
  readonly appLaunch?: boolean;
}

export class FhirgateWaf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FhirgateWafProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const limits = { ...DEFAULT_WAF_RATE_LIMITS, ...props.rateLimits };
    for (const [name, value] of Object.entries(limits)) {
      // WAF's bounds for a rate-based rule limit.
      if (!(Number.isInteger(value) && value >= 10 && value <= 2_000_000_000)) throw new TypeError(`fhirgate WAF: rateLimits.${name} must be an integer 10..2000000000`);
    }
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
          name: 'rate-limit-per-caller',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [{ header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } }],
              limit: limits.perCaller,
            },
          },
          visibilityConfig: metric('rate-limit-per-caller'),
        },
        {
          name: 'rate-limit-per-ip',
          priority: 1,
          action: { block: {} },
          statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: limits.perIp } },
          visibilityConfig: metric('rate-limit-per-ip'),
        },
        managed(2, 'AWSManagedRulesCommonRuleSet', [...COMMON_RULE_SET_COUNTED, ...(props.appLaunch ? [APP_LAUNCH_RELAXED_RULE.name] : [])]),
        managed(3, 'AWSManagedRulesKnownBadInputsRuleSet'),
        ...(props.appLaunch ? [relaxedRuleExceptOnAuthorize(4, metric)] : []),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });

    // WAF only logs to log groups whose name starts with "aws-waf-logs-".
    const logGroupName = `aws-waf-logs-${stack.stackName}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention ?? DEFAULT_LOG_RETENTION,
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

/** Block what the counted Core rule matched (its label), except on the authorize route. */
function relaxedRuleExceptOnAuthorize(priority: number, metric: (name: string) => wafv2.CfnWebACL.VisibilityConfigProperty): wafv2.CfnWebACL.RuleProperty {
  const name = 'rfi-query-except-authorize';
  return {
    name,
    priority,
    action: { block: {} },
    statement: {
      andStatement: {
        statements: [
          { labelMatchStatement: { scope: 'LABEL', key: APP_LAUNCH_RELAXED_RULE.label } },
          {
            notStatement: {
              statement: {
                byteMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  // The stage prefix (or a custom domain's base path) comes before it.
                  positionalConstraint: 'ENDS_WITH',
                  searchString: APP_LAUNCH_RELAXED_RULE.exceptPathSuffix,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            },
          },
        ],
      },
    },
    visibilityConfig: metric(name),
  };
}
