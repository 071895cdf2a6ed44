/**
 * What a first `cdk deploy` depends on, pinned against AWS's documented behaviour (nothing here
 * has been deployed): creation order, the HealthLake actions the PEP's calls need, WAF rules that
 * let fhirgate's own traffic through, throttles of the public routes, no PHI in stage traces and
 * no log group AWS would create unencrypted and unexpiring.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { BEARER_TOKEN_PATTERN, DEFAULT_PUBLIC_ROUTE_THROTTLE } from '../../lib/api';
import { HEALTHLAKE_EXPORT_ACTIONS } from '../../lib/export-bucket';
import { HEALTHLAKE_ACTIONS_BY_INTERACTION, healthLakeProxyActions } from '../../lib/healthlake-actions';
import { APP_LAUNCH_RELAXED_RULE, COMMON_RULE_SET_COUNTED } from '../../lib/waf';
import { acknowledgements, resourcesOfType, Synthesized, synthesize } from './synth';

let s: Synthesized;
/** A stack that registers a first-party SMART app: its custom-resource function exists only then. */
let withApps: Synthesized;
beforeAll(() => {
  s = synthesize(); // every default
  withApps = synthesize({ portalRedirectUris: 'https://portal.example.com/' });
});

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
const resources = (t = s): Resources => t.template.toJSON().Resources;
const id = (element: unknown) => s.stack.getLogicalId(element as CfnElement);

describe('creation order (X-Ray race)', () => {
  test.each([
    ['every default', () => s, 3],
    ['with a first-party SMART app (the AwsCustomResource singleton function too)', () => withApps, 4],
  ] as const)('every Lambda function DependsOn every policy attached to its role: %s', (_name, synthesized, count) => {
    const all = resources(synthesized());
    const functions = Object.entries(all).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBe(count);
    for (const [fnId, fn] of functions) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      // ManagedPolicy.Roles and Policy.Roles list the role by Ref; Role.ManagedPolicyArns by Ref to the policy.
      const attached = Object.entries(all)
        .filter(([, r]) => (r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Policy') && JSON.stringify(r.Properties.Roles ?? []).includes(`"${roleId}"`))
        .map(([policyId]) => policyId);
      const viaRole = JSON.stringify(all[roleId]!.Properties.ManagedPolicyArns ?? []).match(/"Ref":"([^"]+)"/g) ?? [];
      expect(attached.length + viaRole.length).toBeGreaterThan(0);
      for (const policyId of attached) expect({ fn: fnId, dependsOn: fn.DependsOn ?? [] }).toEqual({ fn: fnId, dependsOn: expect.arrayContaining([policyId]) });
      // Tracing is on: the policy granting xray:PutTraceSegments is among them.
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      const xray = attached.some((p) => JSON.stringify(all[p]!.Properties.PolicyDocument).includes('xray:PutTraceSegments'));
      expect({ fn: fnId, xray }).toEqual({ fn: fnId, xray: true });
    }
  });

  test('every fhirgate function runs on nodejs24.x', () => {
    for (const piece of ['authorizer', 'proxy', 'tokenService'] as const) {
      expect(resources()[id(s.stack[piece].function.node.defaultChild)]!.Properties.Runtime).toBe('nodejs24.x');
    }
  });
});

describe('HealthLake actions: one table, granted exactly', () => {
  test('the proxy role grants exactly the union of the interaction table on the data store', () => {
    const policy = resources()[id(s.stack.proxy.function.policy.node.defaultChild)]!;
    const granted = (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
      .flatMap((st) => [st.Action].flat())
      .filter((a) => a.startsWith('healthlake:'))
      .sort();
    // Plus the Bulk Data $export job actions the export bucket grants on the same data store (lib/export-bucket.ts).
    expect(granted).toEqual([...healthLakeProxyActions(), ...Object.values(HEALTHLAKE_EXPORT_ACTIONS)].sort());
  });

  test.each([
    ['vread', 'healthlake:VersionReadResource'],
    ['history-instance', 'healthlake:GetHistoryByResourceId'],
    ['read', 'healthlake:ReadResource'],
    ['search-type', 'healthlake:SearchWithPost'],
    ['operation', 'healthlake:SearchEverything'],
    ['transaction', 'healthlake:ProcessBundle'],
  ] as const)('%s needs %s', (interaction, action) => {
    expect(HEALTHLAKE_ACTIONS_BY_INTERACTION[interaction]).toContain(action);
    expect(healthLakeProxyActions()).toContain(action);
  });

  test('searches go by POST only: no SearchWithGet, no GetCapabilities (metadata is fhirgate\'s own), no data store management, no wildcard', () => {
    const actions = healthLakeProxyActions();
    expect(actions).not.toContain('healthlake:SearchWithGet');
    expect(actions).not.toContain('healthlake:GetCapabilities');
    for (const a of actions) expect(a).toMatch(/^healthlake:(Read|VersionRead|GetHistory|Search|Create|Update|Delete|ProcessBundle)[A-Za-z]*$/);
  });
});

describe('WAF (on by default)', () => {
  const webAcl = () => resourcesOfType(s.template, 'AWS::WAFv2::WebACL')[0]![1];

  test('the per-caller limit is keyed on the Authorization header; the per-IP one is a high ceiling', () => {
    const rules = webAcl().Rules as { Name: string; Statement: any }[];
    const perCaller = rules.find((r) => r.Name === 'rate-limit-per-caller')!.Statement.RateBasedStatement;
    expect(perCaller.CustomKeys).toEqual([{ Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } }]);
    const perIp = rules.find((r) => r.Name === 'rate-limit-per-ip')!.Statement.RateBasedStatement;
    expect(perIp.Limit).toBeGreaterThanOrEqual(10 * perCaller.Limit);
  });

  test('Core rule set: only the FHIR-motivated rules are counted (and, with App Launch, the one re-blocked by label: test/cdk/app-launch.test.ts); NoUserAgent_HEADER still blocks', () => {
    const common = (webAcl().Rules as any[]).find((r) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet');
    const counted = common.Statement.ManagedRuleGroupStatement.RuleActionOverrides.map((o: any) => [o.Name, Object.keys(o.ActionToUse)]);
    expect(counted).toEqual([...COMMON_RULE_SET_COUNTED, APP_LAUNCH_RELAXED_RULE.name].map((name) => [name, ['Count']]));
    expect(JSON.stringify(common)).not.toContain('NoUserAgent_HEADER');
  });

  test('-c waf=false removes it, with an acknowledgement that says why', () => {
    const off = synthesize({ waf: 'false', stackName: 'FhirgateNoWaf' });
    expect(resourcesOfType(off.template, 'AWS::WAFv2::WebACL')).toHaveLength(0);
    expect(acknowledgements(off.stack).find((a) => a.rule === 'AwsSolutions-APIG3')?.reason).toMatch(/waf=false/);
  });
});

describe('API Gateway', () => {
  const stage = () => resourcesOfType(s.template, 'AWS::ApiGateway::Stage')[0]![1];

  test('public routes have their own throttles, below the stage rate, with the stage logging settings', () => {
    const settings = stage().MethodSettings as Record<string, unknown>[];
    const stageWide = settings.find((m) => m.ResourcePath === '/*')!;
    for (const [route, t] of Object.entries(DEFAULT_PUBLIC_ROUTE_THROTTLE)) {
      const method = route.slice(route.lastIndexOf('/') + 1);
      // API Gateway's method-setting path: '/' then the resource path with each '/' escaped as '~1'.
      const path = `/${route.slice(0, route.lastIndexOf('/')).replace(/\//g, '~1')}`;
      expect(settings).toContainEqual(
        expect.objectContaining({ HttpMethod: method, ResourcePath: path, ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      );
      expect(t.rateLimit).toBeLessThan(stageWide.ThrottlingRateLimit as number);
    }
  });

  test('the access log records the TLS version and cipher suite each client negotiated', () => {
    // The variables API Gateway documents for watching the TLS of REST API clients (apigateway-security-policies.html).
    const format = JSON.parse(stage().AccessLogSetting.Format) as Record<string, string>;
    expect(format).toMatchObject({ tlsVersion: '$context.tlsVersion', cipherSuite: '$context.cipherSuite' });
  });

  test('no X-Ray at the stage (its segments record URLs: FHIR ids, search values)', () => {
    expect(stage().TracingEnabled).toBe(false);
  });

  test('the execution log group exists before the stage, with the log key and retention', () => {
    const all = resources();
    const groupId = id(s.stack.api.executionLogGroup.node.defaultChild);
    const group = all[groupId]!.Properties;
    expect(group.LogGroupName).toEqual({ 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: id(s.stack.api.restApi.node.defaultChild) }, '/prod']] });
    expect(group.KmsKeyId).toBeDefined();
    expect(group.RetentionInDays).toBe(2192);
    const [stageId] = resourcesOfType(s.template, 'AWS::ApiGateway::Stage')[0]!;
    expect(all[stageId]!.DependsOn).toContain(groupId);
  });

  test('every log group: KMS key and six years of retention by default', () => {
    const groups = resourcesOfType(s.template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(6); // 3 functions, access, execution, WAF
    for (const [, g] of groups) expect({ kms: g.KmsKeyId !== undefined, days: g.RetentionInDays }).toEqual({ kms: true, days: 2192 });
  });

  test('the token validation regex takes the Bearer scheme in any case (RFC 6750 §2.1), and nothing else', () => {
    s.template.hasResourceProperties('AWS::ApiGateway::Authorizer', { IdentityValidationExpression: BEARER_TOKEN_PATTERN });
    const re = new RegExp(BEARER_TOKEN_PATTERN);
    for (const ok of ['Bearer abc.def-ghi_~+/=', 'bearer abc', 'BEARER abc', 'bEaReR abc']) expect(re.test(ok)).toBe(true);
    for (const bad of ['Basic abc', 'Bearerabc', 'Bearer  abc', 'Bearer a b', 'Bearer ', 'Token abc']) expect(re.test(bad)).toBe(false);
  });
});

describe('Cognito feature plan', () => {
  test('ESSENTIALS by default (managed login v2); -c featurePlan=plus adds enforced threat protection', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTier: 'ESSENTIALS', UserPoolAddOns: Match.absent() });
    const plus = synthesize({ featurePlan: 'plus', stackName: 'FhirgatePlus' });
    plus.template.hasResourceProperties('AWS::Cognito::UserPool', { UserPoolTier: 'PLUS', UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' } });
  });
});

describe('alarms', () => {
  test('each alarm notifies the one encrypted, TLS-only topic', () => {
    const alarms = resourcesOfType(s.template, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(7);
    const topicId = id(s.stack.alarms.topic.node.defaultChild);
    for (const [, a] of alarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(resources()[topicId]!.Properties.KmsMasterKeyId).toBeDefined();
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('what they watch: API 5xx, 429s, authorizer errors, backend failures, token service errors, removed entries (KMS throttling: kms-throttle-alarm.test.ts)', () => {
    const filters = resourcesOfType(s.template, 'AWS::Logs::MetricFilter').map(([, f]) => [f.MetricTransformations[0].MetricName, f.FilterPattern]);
    expect(Object.fromEntries(filters)).toEqual({
      Throttled: '{ $.status = "429" }',
      BackendFailures: '{ $.event = "fhir.access" && ($.status = 429 || $.status = 502 || $.status = 504) }',
      RemovedEntries: '{ $.event = "fhir.access" && $.removed > 0 }',
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Id: 'e', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(s.stack.authorizer.function.node.defaultChild) } }] }) }) })]),
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(s.stack.tokenService.function.node.defaultChild) } }] });
  });
});
