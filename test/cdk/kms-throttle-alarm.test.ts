/**
 * The KMS throttling alarm watches a metric the functions really publish. Both Lambda entries
 * (functions/token-exchange/index.ts, functions/fhir-proxy/index.ts) are loaded with a KMS client
 * that answers every call `ThrottlingException`, as KMS does past its request quota; what they
 * write to stdout is read back as EMF, and the alarm in the synthesized stack must select exactly
 * those metrics (namespace, name, dimensions). Rename the metric, a service, or unwire the
 * counter, and this fails.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV } from '../../functions/adapters/authz-config';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { PAGE_SIGNATURE_PARAM } from '../../functions/core/paging';
import { principalToContext } from '../../functions/core/principal-context';
import { parseScopeString } from '../../functions/core/scopes';
import { PROXY_ENV } from '../../functions/fhir-proxy/config';
import { EXCHANGE_ENV } from '../../functions/token-exchange/config';
import { gatewayEvent } from '../support/gateway-event';
import { resourcesOfType, synthesize } from './synth';

// Every KMS call is throttled (after the SDK's own retries, which this client does not do).
jest.mock('@aws-sdk/client-kms', () => ({
  ...jest.requireActual('@aws-sdk/client-kms'),
  KMSClient: class {
    async send(): Promise<never> {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
  },
}));

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** An EMF metric as CloudWatch reads it from a log line. */
interface EmfMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

/** Load a Lambda entry with this environment, call it once, and return the EMF metrics it wrote. */
async function run(entry: string, env: Record<string, string>, event: APIGatewayProxyEvent): Promise<{ result: APIGatewayProxyResult; metrics: EmfMetric[] }> {
  const saved = { ...process.env };
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(record), jest.spyOn(process.stderr, 'write').mockImplementation(record)];
  try {
    delete process.env.POWERTOOLS_DEV; // the JSON a Lambda writes
    Object.assign(process.env, { POWERTOOLS_METRICS_DISABLED: 'false', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env });
    let handler!: Handler;
    jest.isolateModules(() => {
      handler = (require(entry) as { handler: Handler }).handler;
    });
    const result = await handler(event);
    const metrics = chunks
      .join('')
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .flatMap((line) => {
        const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
        return emf._aws.CloudWatchMetrics.flatMap((d) =>
          d.Metrics.flatMap((m) => d.Dimensions.map((set) => ({ namespace: d.Namespace, name: m.Name, dimensions: Object.fromEntries(set.map((k) => [k, String(emf[k])])) }))),
        );
      });
    return { result, metrics };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
    process.env = saved;
  }
}

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';

let emitted: { tokenService: EmfMetric[]; proxy: EmfMetric[] };
beforeAll(async () => {
  // The token service: its first request reads the signing key (GetPublicKey) — throttled.
  const tokens = await run(
    '../../functions/token-exchange/index',
    {
      [ENV.issuers]: JSON.stringify([
        { kind: 'cognito', userPoolId: 'us-east-1_Example' }, // never fetched: the signing key fails first
        { kind: 'fhirgate-exchange', issuer: 'https://api.example.test/auth', jwksUri: 'https://api.example.test/auth/jwks.json', audience: 'https://api.example.test/fhir' },
      ]),
      [ENV.userClientIds]: 'web',
      [ENV.machineClientIds]: 'api-server',
      [ENV.linksTable]: 'links',
      [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
      [EXCHANGE_ENV.issuer]: 'https://api.example.test/auth',
      [EXCHANGE_ENV.audience]: 'https://api.example.test/fhir',
      [EXCHANGE_ENV.signingKeyId]: KEY_ARN,
    },
    gatewayEvent('GET', '/auth/jwks.json'),
  );
  expect(tokens.result.statusCode).toBe(503); // fail closed: no keys, no token
  // The proxy: a paging link's MAC is checked (VerifyMac) before anything reaches the backend — throttled.
  const principal = { kind: 'system' as const, sub: 'etl', clientId: 'etl', patients: [], scopes: parseScopeString('system/*.rs').resource };
  const paging = await run(
    '../../functions/fhir-proxy/index',
    {
      [PROXY_ENV.backendUrl]: 'http://127.0.0.1:9/r4', // never reached
      [PROXY_ENV.pagingKmsKeyId]: KEY_ARN,
      [PROXY_ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
      [PROXY_ENV.discovery]: JSON.stringify({ issuer: 'https://api.example.test/auth', tokenEndpoint: 'https://api.example.test/auth/token', jwksUri: 'https://api.example.test/auth/jwks.json', backendServices: true, clientSecrets: true, scopesSupported: ['system/*.rs'] }),
    },
    gatewayEvent('GET', '/fhir/{proxy+}', {
      path: '/fhir/Observation',
      proxy: 'Observation',
      queryStringParameters: { _getpages: 'cursor-1', [PAGE_SIGNATURE_PARAM]: 'A'.repeat(43) },
      multiValueQueryStringParameters: { _getpages: ['cursor-1'], [PAGE_SIGNATURE_PARAM]: ['A'.repeat(43)] },
      requestContext: { domainName: 'abc123.execute-api.us-east-1.amazonaws.com', stage: 'prod', requestId: 'r-2', authorizer: principalToContext(principal) } as unknown as APIGatewayProxyEvent['requestContext'],
    }),
  );
  expect(paging.result.statusCode).toBeGreaterThanOrEqual(500); // fail closed: the link is not honoured
  emitted = { tokenService: tokens.metrics, proxy: paging.metrics };
});

test('each function counts the throttled KMS call as one metric', () => {
  for (const [fn, metrics] of Object.entries(emitted)) {
    expect({ fn, throttled: metrics.filter((m) => m.name === 'KmsThrottled').length }).toEqual({ fn, throttled: 1 });
  }
});

test('the KMS throttling alarm selects exactly the metrics the functions write', () => {
  const s = synthesize({ stackName: 'FhirgateKmsAlarm' });
  const alarm = resourcesOfType(s.template, 'AWS::CloudWatch::Alarm').find(([, p]) => JSON.stringify(p.Metrics ?? []).includes('KmsThrottled'));
  expect(alarm).toBeDefined();
  const selected = (alarm![1].Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[])
    .filter((m) => m.MetricStat)
    .map(({ MetricStat }) => ({ namespace: MetricStat!.Metric.Namespace, name: MetricStat!.Metric.MetricName, dimensions: Object.fromEntries(MetricStat!.Metric.Dimensions.map((d) => [d.Name, d.Value])) }));
  const written = [...emitted.tokenService, ...emitted.proxy].filter((m) => m.name === 'KmsThrottled');
  expect(selected.sort(byService)).toEqual(written.sort(byService));
  expect(alarm![1]).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
});

const byService = (a: EmfMetric, b: EmfMetric) => JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions));
