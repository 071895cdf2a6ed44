/**
 * A Secrets Manager secret read through the AWS Parameters and Secrets Lambda Extension: a layer
 * that serves `GET http://localhost:2773/secretsmanager/get?secretId=<id>` inside the execution
 * environment, authenticated by the header `X-Aws-Parameters-Secrets-Token` = the function's
 * `AWS_SESSION_TOKEN`, and answers Secrets Manager's GetSecretValue JSON (`SecretString`). It
 * calls Secrets Manager with the function's role and caches the value (5 minutes by default), so
 * the bundle carries no Secrets Manager client and a warm function makes no AWS call.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html
 *
 * Fail closed: an unreachable extension, a refusal (403 without the token, 400/404 for an unknown
 * secret or missing permission) or an answer without a `SecretString` is a DependencyError (503);
 * nothing is remembered, so the next call tries again. The secret value never appears in an error.
 */
import { DependencyError } from '../core/errors';

/** The header the extension checks against the session token of the execution environment. */
export const SECRETS_TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token';

/** Reads a secret's current value; throws DependencyError when it cannot. */
export type SecretSource = () => Promise<string>;

export interface ExtensionSecretOptions {
  /** The secret's ARN or name. */
  readonly secretId: string;
  /** @default `http://localhost:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773}` */
  readonly endpoint?: string;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 2000 (the extension itself waits on Secrets Manager at a cache miss) */
  readonly timeoutMs?: number;
}

/** The secret's `SecretString`, read through the extension at each call (the extension caches it). */
export function extensionSecret(options: ExtensionSecretOptions): SecretSource {
  const env = options.env ?? process.env;
  const endpoint = (options.endpoint ?? `http://localhost:${env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || 2773}`).replace(/\/+$/, '');
  const url = `${endpoint}/secretsmanager/get?secretId=${encodeURIComponent(options.secretId)}`;
  const doFetch = options.fetch ?? fetch;
  // The reason goes to the log line; it never holds the value (a refusal's body is not even read).
  const fail = (why: string) => new DependencyError(why === 'TimeoutError' ? 'ERR_DEPENDENCY_TIMEOUT' : 'ERR_DEPENDENCY_FAILED', `secret read through the Parameters and Secrets extension failed (${why})`);
  return async () => {
    // Read per call: the runtime sets it for the execution environment (and refreshes credentials).
    const token = env.AWS_SESSION_TOKEN;
    if (!token) throw fail('no AWS_SESSION_TOKEN');
    let response: Response;
    try {
      response = await doFetch(url, { headers: { [SECRETS_TOKEN_HEADER]: token }, signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
    } catch (err) {
      // By name, not instanceof: an abort's DOMException may come from another realm (a test runner).
      const name = (err as { name?: unknown } | null)?.name;
      throw fail(typeof name === 'string' ? name : 'unreachable');
    }
    if (!response.ok) throw fail(`HTTP ${response.status}`);
    const body = (await response.json().catch(() => undefined)) as { SecretString?: unknown } | undefined;
    if (typeof body?.SecretString !== 'string' || body.SecretString === '') throw fail('no SecretString');
    return body.SecretString;
  };
}
