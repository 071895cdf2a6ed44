/**
 * The CLI's error tree and exit codes. Every failure reaches the operator as ONE line on stderr,
 * `fhirgate: <what is wrong>`, and an exit code a script can branch on.
 */

/** 0 ok, 1 the operation failed (or a token was refused), 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The operation could not be done: a user or patient that does not exist, AWS said no (exit 1). */
export class CliError extends Error {
  readonly exitCode: number = EXIT.failed;
}

/** The command line is wrong: a bad value, a missing or conflicting option (exit 2). */
export class UsageError extends CliError {
  override readonly exitCode: number = EXIT.usage;
}

/** The name an AWS SDK v3 service exception carries (`UserNotFoundException`), or the Node error code. */
export function errorName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code; // ECONNREFUSED, ENOTFOUND, …
  return err.name;
}

/** Network failures: the service is not there (a stopped local stack, a wrong endpoint). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'TimeoutError']);

export function isUnreachable(err: unknown): boolean {
  const name = errorName(err);
  if (name !== undefined && UNREACHABLE.has(name)) return true;
  // fetch wraps the socket error: TypeError('fetch failed', { cause: ECONNREFUSED })
  return err instanceof Error && err.cause !== undefined && err.cause !== err && isUnreachable(err.cause);
}

/** One line for any error, prefixed with what was being done (`creating the Cognito user`). */
export function failure(doing: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  const name = errorName(err);
  const message = err instanceof Error ? err.message : String(err);
  const detail = name && name !== 'Error' && !message.includes(name) ? `${name}: ${message}` : message;
  return new CliError(`${doing} failed: ${oneLine(detail)}`);
}

/** Collapse whitespace so a multi-line message stays one line on stderr. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
