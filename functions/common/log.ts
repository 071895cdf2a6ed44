/**
 * Structured logging: one JSON object per line, which CloudWatch Logs Insights queries directly.
 * Callers pass only what is safe to log — never tokens, never resource content.
 *
 * `Logger` is fhirgate's own type; `jsonLogger` writes lines itself (the local stack, the
 * authorizer, whose bundle budget Powertools would exceed), `powertoolsLogger` (powertools-log.ts, its own module so that
 * bundles without it never pull Powertools in) hands them to
 * Powertools for AWS Lambda's Logger (Lambda context, cold start, X-Ray trace id, sampling).
 * Either way a record's keys reach the line unchanged: the audit line keeps its shape.
 */

export type LogRecord = Readonly<Record<string, unknown>>;
export type Logger = (record: LogRecord) => void;

/** Writes each record as one JSON line on stdout, stamped with the time. */
export const jsonLogger: Logger = (record) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
};

