/**
 * fhirgate's Logger and Metrics over Powertools for AWS Lambda, read back from what they write:
 * the audit line keeps every key it was given; each metric is one EMF record with exactly its own
 * dimensions (and the service).
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { emfMetrics } from '../../functions/common/emf-metrics';
import { lambdaLogger } from '../../functions/common/log';
import { powertoolsMetrics } from '../../functions/common/powertools-metrics';
import { powertoolsLogger } from '../../functions/common/powertools-log';

function captureStdout(): { lines: () => any[]; restore: () => void } {
  const chunks: string[] = [];
  // Powertools writes errors and warnings to stderr, the rest to stdout: both, in order.
  const record = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(record), jest.spyOn(process.stderr, 'write').mockImplementation(record)];
  return {
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

const saved = { ...process.env };
beforeEach(() => {
  delete process.env.POWERTOOLS_DEV; // the JSON a Lambda writes, not the pretty dev output
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});
afterEach(() => {
  process.env = { ...saved };
});

test('the audit line keeps its shape: every key of the record, at the top level, with Powertools context added', () => {
  const out = captureStdout();
  try {
    const log = powertoolsLogger('fhir-proxy', new PowertoolsLogger({ serviceName: 'fhir-proxy' }));
    const audit = { level: 'info', event: 'fhir.access', requestId: 'r-1', sub: 'u-alice', client: 'web', kind: 'patient', patients: ['pat-alice'], interaction: 'read', resourceType: 'Observation', status: 404, decision: 'deny', removed: 0, reason: 'outside the compartment' };
    log(audit);
    log({ level: 'error', event: 'fhir.error', requestId: 'r-2', error: 'boom' });
    const [line, error] = out.lines();
    const { level: _level, ...keys } = audit;
    expect(line).toMatchObject(keys);
    expect(line).toMatchObject({ level: 'INFO', message: 'fhir.access', service: 'fhir-proxy' });
    expect(error).toMatchObject({ level: 'ERROR', message: 'fhir.error', requestId: 'r-2' });
  } finally {
    out.restore();
  }
});

test('each metric is one EMF record with exactly its dimensions', () => {
  const out = captureStdout();
  try {
    const metrics = powertoolsMetrics('fhir-proxy');
    metrics.record('Decisions', 'Count', 1, { interaction: 'read', decision: 'deny', code: 'ERR_NOT_FOUND' });
    metrics.record('BackendLatency', 'Milliseconds', 42, { method: 'POST', outcome: 'ok' });
    const [decision, latency] = out.lines();
    expect(decision._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'fhirgate',
      Dimensions: [expect.arrayContaining(['service', 'interaction', 'decision', 'code'])],
      Metrics: [{ Name: 'Decisions', Unit: 'Count' }],
    });
    expect(decision).toMatchObject({ Decisions: 1, code: 'ERR_NOT_FOUND', service: 'fhir-proxy' });
    expect(latency).toMatchObject({ BackendLatency: 42, method: 'POST' });
    expect(latency.code).toBeUndefined(); // the first record's dimensions did not stick
  } finally {
    out.restore();
  }
});

test('the dependency-free EMF writer (token service) writes the same record shape as Powertools', () => {
  const out = captureStdout();
  try {
    powertoolsMetrics('token-service').record('TokensIssued', 'Count', 1, { grant: 'token-exchange' });
    const lines: string[] = [];
    emfMetrics('token-service', { write: (l) => lines.push(l), now: () => 1_700_000_000_000 }).record('TokensIssued', 'Count', 1, { grant: 'token-exchange' });
    const [powertools] = out.lines();
    const ours = JSON.parse(lines[0]!);
    const shape = (r: any) => ({ ...r, _aws: { ...r._aws, Timestamp: 0, CloudWatchMetrics: r._aws.CloudWatchMetrics.map((m: any) => ({ ...m, Dimensions: m.Dimensions.map((d: string[]) => [...d].sort()) })) } });
    expect(shape(ours)).toEqual(shape(powertools));
    expect(ours._aws.Timestamp).toBe(1_700_000_000_000);
  } finally {
    out.restore();
  }
});

describe("lambdaLogger (the proxy's) writes the lines Powertools' Logger writes", () => {
  const records = [
    { level: 'info', event: 'fhir.access', requestId: 'r-1', sub: 'u-alice', client: 'web', kind: 'patient', patients: ['pat-alice'], interaction: 'read', resourceType: 'Observation', status: 404, decision: 'deny', removed: 0, code: 'ERR_OUT_OF_COMPARTMENT', params: [] },
    { level: 'error', event: 'fhir.error', requestId: 'r-2', error: 'Error: boom\n    at x (y.js:1:2)' },
    { level: 'warn', event: 'something.odd', n: 1, nested: { a: [1, null, 'x'] } },
    { level: 'info', event: 'fhir.access', sub: undefined, actor: undefined, removed: 3 },
  ];
  const withoutTime = (line: Record<string, unknown>) => ({ ...line, timestamp: 'T' });

  test.each([
    ['no trace', undefined],
    ['an X-Ray trace header', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'],
    ['a bare trace id', '1-5759e988-bd862e3fe1be46a994272793'],
  ])('%s: same keys, same order, same values, same stream', (_name, trace) => {
    if (trace === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = trace;
    const streams: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (streams.push(`out ${String(chunk)}`), true));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (streams.push(`err ${String(chunk)}`), true));
    try {
      const powertools = powertoolsLogger('fhir-proxy', new PowertoolsLogger({ serviceName: 'fhir-proxy' }));
      for (const r of records) powertools(r);
      const ours = lambdaLogger('fhir-proxy');
      for (const r of records) ours(r);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const parsed = streams.map((s) => ({ stream: s.slice(0, 3), keys: Object.keys(JSON.parse(s.slice(4))), line: withoutTime(JSON.parse(s.slice(4))) }));
    const [theirs, ours] = [parsed.slice(0, records.length), parsed.slice(records.length)];
    expect(ours).toEqual(theirs);
    expect(theirs.length).toBe(records.length);
  });

  test('the timestamp is the ISO time of the write', () => {
    const lines: string[] = [];
    lambdaLogger('fhir-proxy', { env: {}, now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6), write: (line) => lines.push(line) })({ level: 'info', event: 'x' });
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'INFO', message: 'x', timestamp: '2026-01-02T03:04:05.006Z', service: 'fhir-proxy', sampling_rate: 0, event: 'x' });
  });
});
