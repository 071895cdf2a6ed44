/**
 * cdk-nag v3 (AwsSolutionsChecks and HIPAASecurityChecks, registered as CDK validation plugins
 * by lib/fhirgate-app.ts) over the default stack: no finding is left unacknowledged, and every
 * acknowledgement says why for this resource. Synthesized once, without bundling (the nag rules
 * read resource properties, not code). The last tests do the same for a stack that registers a
 * first-party SMART app (its custom-resource function exists only then).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cr from 'aws-cdk-lib/custom-resources';
import { acknowledgements, nagViolations, Synthesized, synthesize } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

/** The AwsCustomResource singleton function's construct id (stack level). */
const CUSTOM_RESOURCE_FUNCTION = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;

/** What each part of the stack is for: an acknowledgement under it must say so. */
const PURPOSE: readonly [RegExp, RegExp][] = [
  [/\/Identity\//, /user pool/i],
  [/\/Links\//, /links table/i],
  [/\/BackendClients\//, /backend client registry|client assertion replay store/i],
  [/\/Api\//, /fhirgate API|FHIR discovery|FHIR routes|token endpoint|token exchange|fhirgate FHIR proxy/i],
  [/\/Authorizer\//, /token authorizer/i],
  [/\/FhirProxy\//, /FHIR proxy/i],
  [/\/TokenService\//, /token exchange/i],
  [/\/Exports\//, /bulk export/i],
  [/\/AuditTrail\//, /audit trail/i],
  [/\/AppLaunch\//, /SMART app|SMART App Launch/i],
  [new RegExp(`/${CUSTOM_RESOURCE_FUNCTION}/`), /first-party SMART app/i],
];

test('synthesis ran both packs and wrote an empty validation report (nothing unacknowledged)', () => {
  const reportFile = join(s.outdir, 'validation-report.json');
  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: { summary?: { status?: string }; violations?: unknown[] }[] };
    for (const plugin of report.pluginReports) expect(plugin.violations ?? []).toEqual([]);
  }
});

test('AwsSolutions and HIPAA Security: zero unacknowledged errors and zero unacknowledged warnings', () => {
  expect(nagViolations(s.app)).toEqual([]);
});

test('no stale acknowledgement: without them the packs report exactly the acknowledged rules, on those resources', () => {
  const raw = nagViolations(s.app, { ignoreAcknowledgements: true });
  expect(raw.length).toBeGreaterThan(0);
  const found = new Set(raw.flatMap((v) => v.paths.map((path) => `${v.rule} ${path}`)));
  for (const ack of acknowledgements(s.app)) {
    const hit = [...found].some((f) => f.startsWith(`${ack.rule} ${ack.path}`));
    expect({ ack: `${ack.rule} at ${ack.path}`, hit }).toEqual({ ack: `${ack.rule} at ${ack.path}`, hit: true });
  }
  const acked = new Set(acknowledgements(s.app).map((a) => a.rule));
  for (const v of raw) expect(acked).toContain(v.rule);
});

function checkReasons(s: Synthesized): void {
  const acks = acknowledgements(s.app);
  expect(acks.length).toBeGreaterThan(10);
  for (const ack of acks) {
    const where = `${ack.rule} at ${ack.path}`;
    expect({ where, long: ack.reason.length >= 30 }).toEqual({ where, long: true });
    expect({ where, generic: /^(n\/a|false positive|not needed|suppressed|ok)\b/i.test(ack.reason) }).toEqual({ where, generic: false });
    const purpose = PURPOSE.find(([path]) => path.test(`${ack.path}/`));
    expect({ where, known: purpose !== undefined }).toEqual({ where, known: true });
    expect({ where, reason: ack.reason, namesPurpose: purpose![1].test(ack.reason) }).toMatchObject({ namesPurpose: true });
  }
}

test('every acknowledgement has a reason of substance that names what the resource is for', () => {
  checkReasons(s);
});

test('the replay store and the App Launch state are the only tables without point-in-time recovery, and say why', () => {
  const pitr = acknowledgements(s.app).filter((a) => a.rule === 'AwsSolutions-DDB3' || a.rule === 'HIPAA.Security-DynamoDBPITREnabled');
  const replay = s.stack.backendClients.replay.node.path;
  const launch = s.stack.appLaunch!.tables.launch.node.path;
  expect(pitr.map((a) => `${a.rule} ${a.path}`).sort()).toEqual(
    [`AwsSolutions-DDB3 ${launch}`, `AwsSolutions-DDB3 ${replay}`, `HIPAA.Security-DynamoDBPITREnabled ${launch}`, `HIPAA.Security-DynamoDBPITREnabled ${replay}`].sort(),
  );
  for (const a of pitr) expect(a.reason).toMatch(a.path === replay ? /jti/ : /revive codes and refresh tokens already redeemed or revoked/);
});

test('acknowledgements sit on the resource they concern, never on the stack or the app', () => {
  for (const ack of acknowledgements(s.app)) expect(ack.path.split('/').length).toBeGreaterThan(2);
});

test('the list of acknowledged rules (review any change to it)', () => {
  const rules = [...new Set(acknowledgements(s.app).map((a) => a.rule))].sort();
  expect(rules).toEqual([
    'AwsSolutions-APIG2',
    'AwsSolutions-APIG4',
    'AwsSolutions-COG2',
    'AwsSolutions-COG4',
    'AwsSolutions-COG8',
    'AwsSolutions-DDB3',
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'AwsSolutions-IAM5[Resource::*]',
    'AwsSolutions-IAM5[Resource::<ExportsBucket54D5CE64.Arn>/exports/*]',
    'AwsSolutions-SMG4',
    'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
    'HIPAA.Security-APIGWSSLEnabled',
    'HIPAA.Security-APIGWXrayEnabled',
    'HIPAA.Security-DynamoDBInBackupPlan',
    'HIPAA.Security-DynamoDBPITREnabled',
    'HIPAA.Security-LambdaConcurrency',
    'HIPAA.Security-LambdaDLQ',
    'HIPAA.Security-LambdaInsideVPC',
    'HIPAA.Security-S3BucketReplicationEnabled',
    'HIPAA.Security-S3BucketVersioningEnabled',
    'HIPAA.Security-S3DefaultEncryptionKMS',
    'HIPAA.Security-SecretsManagerRotationEnabled',
  ]);
});

describe('with a first-party SMART app (the custom resource that registers it)', () => {
  let withApps: Synthesized;
  beforeAll(() => {
    withApps = synthesize({ portalRedirectUris: 'https://portal.example.com/' });
  });

  test('zero unacknowledged findings, and no stale acknowledgement', () => {
    expect(nagViolations(withApps.app)).toEqual([]);
    const raw = nagViolations(withApps.app, { ignoreAcknowledgements: true });
    const found = new Set(raw.flatMap((v) => v.paths.map((path) => `${v.rule} ${path}`)));
    for (const ack of acknowledgements(withApps.app)) expect({ ack: `${ack.rule} at ${ack.path}`, hit: [...found].some((f) => f.startsWith(`${ack.rule} ${ack.path}`)) }).toMatchObject({ hit: true });
  });

  test('every acknowledgement names what its resource is for; the function\'s own sit on its resource', () => {
    checkReasons(withApps);
    const fnAcks = acknowledgements(withApps.app).filter((a) => a.path.includes(CUSTOM_RESOURCE_FUNCTION));
    expect(fnAcks.map((a) => a.rule).sort()).toEqual(['HIPAA.Security-LambdaConcurrency', 'HIPAA.Security-LambdaDLQ', 'HIPAA.Security-LambdaInsideVPC']);
    for (const a of fnAcks) expect(a.path).toBe(`${withApps.stack.node.id}/${CUSTOM_RESOURCE_FUNCTION}/Resource`);
  });
});
