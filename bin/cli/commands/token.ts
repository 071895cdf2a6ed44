/**
 * `fhirgate token`: an access token for a curl session against the local stack — a user signing
 * in (Cognito InitiateAuth, USER_PASSWORD_AUTH), a machine client (client_credentials), or the
 * API server acting for a user (RFC 8693 token exchange).
 */
import { InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { Command, Option } from 'commander';
import { cognitoFailure } from '../cognito';
import type { Context, Runner } from '../context';
import { CliError, failure, isUnreachable, UsageError } from '../errors';
import { patientOption } from '../options';
import type { LocalStackJson } from '../target';

interface TokenOptions {
  readonly user?: string;
  readonly password?: string;
  readonly client?: string;
  readonly actor?: string;
  readonly patient?: string[];
  readonly scope?: string;
}

interface IssuedToken {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly scope?: string;
}

const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

export function registerToken(program: Command, runner: Runner): void {
  program
    .command('token')
    .description('print an access token (local stack only), for curl sessions')
    .option('--user <username>', 'sign in as this user (USER_PASSWORD_AUTH)')
    .option('--password <password>', "the user's password (default: from stack.json, for the demo users)")
    .addOption(new Option('--client <name>', 'a machine client (name or client id in stack.json): client_credentials token').conflicts(['user', 'password']))
    .option('--actor <client>', 'with --user: exchange the user token for one that this machine client uses on their behalf (RFC 8693)')
    .addOption(patientOption('with --actor: the patient the delegated token is for'))
    .option('--scope <scopes>', 'space-separated scopes to request (with --client or --actor)')
    .addHelpText('after', '\nExamples:\n  TOKEN=$(fhirgate --local token --user alice)\n  MT=$(fhirgate --local token --client analytics)\n  curl -H "Authorization: Bearer $TOKEN" "$(node -p "require(\'./.local/stack.json\').fhirBaseUrl")/Patient"')
    .action((opts: TokenOptions, cmd: Command) => {
      if (!opts.user === !opts.client) throw new UsageError('pass --user <username> or --client <name>');
      if (opts.actor && !opts.user) throw new UsageError('--actor exchanges a user token: pass --user too');
      if (opts.patient && !opts.actor) throw new UsageError('--patient applies to a delegated token: pass --actor too');
      if (opts.scope && !opts.client && !opts.actor) throw new UsageError('a user sign-in cannot request scopes; --scope is for --client or --actor');
      return runner.run(cmd, (ctx) => printToken(ctx, opts));
    });
}

async function printToken(ctx: Context, opts: TokenOptions): Promise<void> {
  const info = ctx.target.local;
  if (!info) throw new UsageError('token works against the local stack only (--local); in AWS, sign in through your app or the Cognito hosted UI');
  let token: IssuedToken;
  if (opts.client) token = await clientCredentials(info, machineClient(info, opts.client), opts.scope);
  else {
    token = await signIn(ctx, info, opts.user!, opts.password);
    if (opts.actor) token = await exchange(info, token, opts.actor, opts);
  }
  ctx.out.result(token, () => [token.access_token]);
}

async function signIn(ctx: Context, info: LocalStackJson, username: string, password: string | undefined): Promise<IssuedToken> {
  const demo = info.users.find((u) => u.username === username || u.sub === username);
  const secret = password ?? demo?.password;
  if (!secret) throw new UsageError(`no password for ${username} in stack.json (it knows the demo users only): pass --password`);
  try {
    const out = await ctx.target.cognito.send(
      new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: info.cognito.webClientId, AuthParameters: { USERNAME: demo?.username ?? username, PASSWORD: secret } }),
    );
    if (out.ChallengeName) throw new CliError(`sign-in for ${username} needs ${out.ChallengeName}, which this command does not answer`);
    const result = out.AuthenticationResult;
    if (!result?.AccessToken) throw new CliError(`sign-in for ${username} returned no access token`);
    return { access_token: result.AccessToken, token_type: result.TokenType ?? 'Bearer', expires_in: result.ExpiresIn };
  } catch (err) {
    if (err instanceof Error && ['NotAuthorizedException', 'UserNotFoundException', 'InvalidPasswordException', 'PasswordResetRequiredException', 'UserNotConfirmedException'].includes(err.name)) {
      throw new CliError(`sign-in failed for ${username}: ${err.message}`);
    }
    throw cognitoFailure(ctx.target, `signing in as ${username}`, err);
  }
}

function machineClient(info: LocalStackJson, nameOrId: string): { clientId: string; clientSecret: string } {
  const client = info.machineClients.find((c) => c.name === nameOrId || c.clientId === nameOrId);
  if (!client) throw new CliError(`no machine client ${nameOrId} in stack.json (known: ${info.machineClients.map((c) => c.name).join(', ')})`);
  return client;
}

async function clientCredentials(info: LocalStackJson, client: { clientId: string; clientSecret: string }, scope: string | undefined): Promise<IssuedToken> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
  return postToken(info.cognito.tokenUrl, form, { authorization: `Basic ${basic}` }, 'the client_credentials endpoint');
}

async function exchange(info: LocalStackJson, subject: IssuedToken, actor: string, opts: TokenOptions): Promise<IssuedToken> {
  if (!info.tokenExchangeUrl) throw new CliError('this local stack has no token exchange (stack.json has no tokenExchangeUrl)');
  const actorToken = await clientCredentials(info, machineClient(info, actor), undefined);
  if ((opts.patient?.length ?? 0) > 1) throw new UsageError('a delegated token is for one patient: pass --patient once');
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: subject.access_token,
    subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    actor_token: actorToken.access_token,
    actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    ...(opts.patient?.[0] ? { patient: opts.patient[0] } : {}),
    ...(opts.scope ? { scope: opts.scope } : {}),
  });
  return postToken(info.tokenExchangeUrl, form, {}, 'the token exchange');
}

async function postToken(url: string, form: URLSearchParams, headers: Record<string, string>, what: string): Promise<IssuedToken> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: form.toString(), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    if (isUnreachable(err)) throw new CliError(`cannot reach ${what} at ${url} (is the local stack running? npm start)`);
    throw failure(`calling ${what}`, err);
  }
  const body = (await res.json().catch(() => ({}))) as Partial<IssuedToken> & { error?: string; error_description?: string };
  if (!res.ok || typeof body.access_token !== 'string') {
    // RFC 6749 §5.2 error body
    const why = body.error ? `${body.error}${body.error_description ? `: ${body.error_description}` : ''}` : `HTTP ${res.status}`;
    throw new CliError(`${what} refused: ${why}`);
  }
  return { access_token: body.access_token, token_type: body.token_type ?? 'Bearer', expires_in: body.expires_in, ...(body.scope ? { scope: body.scope } : {}) };
}
