/**
 * Structured logging: one JSON object per line, which CloudWatch Logs Insights queries directly.
 * Callers pass only what is safe to log — never tokens, never resource content.
 */

export type LogRecord = Readonly<Record<string, unknown>>;
export type Logger = (record: LogRecord) => void;

/** Writes each record as one JSON line on stdout, stamped with the time. */
export const jsonLogger: Logger = (record) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
};
