/**
 * Structured logging: one JSON object per line, which CloudWatch Logs Insights queries directly.
 * Callers pass only what is safe to log — never tokens, never resource content.
 *
 * `Logger` is fhirgate's own type. `jsonLogger` writes lines itself (the local stack, the
 * authorizer, the token service); `lambdaLogger` writes them in the shape Powertools for AWS
 * Lambda's Logger gives them (the proxy); `powertoolsLogger` (powertools-log.ts, its own module so
 * that bundles without it never pull Powertools in) hands them to Powertools itself, and is the
 * reference `lambdaLogger` is tested against. Every way, a record's keys reach the line
 * unchanged: the audit line keeps its shape.
 */

export type LogRecord = Readonly<Record<string, unknown>>;
export type Logger = (record: LogRecord) => void;

/** Writes each record as one JSON line on stdout, stamped with the time. */
export const jsonLogger: Logger = (record) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
};


/**
 * Writes each record as one JSON line in the shape Powertools for AWS Lambda's Logger writes it
 * (`level` in capitals, `message` = the record's `event`, `timestamp`, `service`, `sampling_rate`,
 * `xray_trace_id` while Lambda traces the invocation, then every key of the record but `level`;
 * warnings and errors on stderr), without Powertools: in the proxy its Logger cost 7 ms of cold
 * start (require) and 10 µs per line against 2 µs (bench, test/common/powertools.test.ts holds
 * the two to the same lines). Nothing is sampled: fhirgate writes no debug records.
 */
export function lambdaLogger(
  serviceName: string,
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly now?: () => number; readonly write?: (line: string, level: string) => void } = {},
): Logger {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const write = options.write ?? ((line: string, level: string) => void (level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout).write(line));
  return (record) => {
    const level = record.level === 'error' ? 'ERROR' : record.level === 'warn' ? 'WARN' : record.level === 'debug' ? 'DEBUG' : 'INFO';
    const line: Record<string, unknown> = {
      level,
      message: typeof record.event === 'string' ? record.event : 'fhirgate',
      timestamp: new Date(now()).toISOString(),
      service: serviceName,
      sampling_rate: 0,
    };
    const root = traceRoot(env);
    if (root) line.xray_trace_id = root;
    for (const key of Object.keys(record)) if (key !== 'level') line[key] = record[key];
    write(`${JSON.stringify(line)}\n`, level);
  };
}

/**
 * The invocation's X-Ray trace id, where Powertools reads it: the runtime's invoke store, else
 * `_X_AMZN_TRACE_ID` (`Root=1-…;Parent=…;Sampled=…`, or a bare id).
 */
function traceRoot(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } }).awslambda?.InvokeStore;
  const header = store?.getXRayTraceId?.() ?? env._X_AMZN_TRACE_ID ?? '';
  if (header === '') return undefined;
  if (!header.includes('=')) return header;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (part.slice(0, eq) === 'Root') return part.slice(eq + 1);
  }
  return undefined;
}
