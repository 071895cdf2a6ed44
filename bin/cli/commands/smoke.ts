/**
 * `fhirgate smoke`: after `cdk deploy` (or `npm start`), check fhirgate's core promises against
 * the deployment itself, with a throwaway user, then clean up.
 *
 * Setup (undone at the end, whatever happened): two Patients in the FHIR store (`--fhir-url` in
 * AWS: the HealthLake endpoint, SigV4-signed with the operator's credentials) and a third that
 * belongs to nobody; a Cognito user in the guardian group linked to the first two. The user signs
 * in with AdminInitiateAuth (ADMIN_USER_PASSWORD_AUTH: IAM credentials, never a public flow).
 *
 * Checks, each printed as ok/FAIL: the discovery documents are public; when App Launch is
 * advertised, its authorize endpoint refuses an unregistered app on its own page; no token is 401 with a
 * `WWW-Authenticate: Bearer` challenge; the user reads their own patient (200) and not the
 * foreign one (404, like a missing one); the API server's token exchange works (RFC 8693) and the
 * exchanged token is confined to its patient; a paging link works for the caller it was issued
 * to and is refused for another caller. Exit 1 if any check fails.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Command } from 'commander';
import { clientCredentialsTokens, onBehalfOfTokens } from '../../../client';
import { cognitoFailure } from '../cognito';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { openFhirStore } from '../fhir-store';
import type { Target } from '../target';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

interface SmokeOptions {
  readonly actor?: string;
}

export function registerSmoke(program: Command, runner: Runner): void {
  program
    .command('smoke')
    .description("check a deployment's core promises with a throwaway user and patients, then clean up")
    .option('--actor <client>', 'local stack: the machine client that exchanges tokens (default api-server); in AWS the stack\'s ApiServerClientId')
    .addHelpText('after', '\nExamples:\n  fhirgate --local smoke\n  fhirgate --stack Fhirgate smoke --fhir-url https://healthlake.eu-west-1.amazonaws.com/datastore/<id>/r4')
    .action((opts: SmokeOptions, cmd: Command) => runner.run(cmd, (ctx) => smoke(ctx, opts)));
}

async function smoke(ctx: Context, opts: SmokeOptions): Promise<number> {
  const { target, out } = ctx;
  const fhir = target.fhirBaseUrl;
  if (!fhir || !target.tokenExchangeUrl) throw new CliError(`${target.description} names no FHIR base URL or token exchange URL`);
  if (!target.fhirStoreUrl) throw new UsageError('smoke creates throwaway patients in the FHIR store: pass --fhir-url <FHIR store base URL>');
  const webClientId = target.authorizer.clients.userClientIds[0];
  if (!webClientId) throw new CliError(`${target.description} names no web client`);
  const actor = await actorCredentials(target, opts.actor ?? 'api-server');

  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const get = async (path: string, token?: string) => {
    const res = await fetch(`${fhir}/${path}`, { headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body };
  };

  // Public documents, and the 401 challenge: no setup needed.
  const smart = await get('.well-known/smart-configuration');
  check('discovery: SMART configuration is public', smart.status === 200 && typeof smart.body?.token_endpoint === 'string', `status ${smart.status}`);
  const metadata = await get('metadata');
  check('discovery: CapabilityStatement is public', metadata.status === 200 && metadata.body?.resourceType === 'CapabilityStatement', `status ${metadata.status}`);
  // SMART App Launch, when the deployment advertises it: an unregistered app is refused on
  // fhirgate's own page, never redirected to the redirect_uri it names (RFC 6749 §4.1.2.1).
  const authorizeUrl = smart.body?.authorization_endpoint;
  if (typeof authorizeUrl === 'string') {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: `fhirgate-smoke-unregistered-${randomBytes(4).toString('hex')}`,
      redirect_uri: 'https://smoke.example.invalid/callback',
      scope: 'openid fhirUser launch/patient patient/*.rs',
      state: randomBytes(8).toString('hex'),
      aud: fhir,
      code_challenge: randomBytes(32).toString('base64url'),
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${authorizeUrl}?${query}`, { redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer();
    check('App Launch: an unregistered app is refused without a redirect (400)', res.status === 400 && !res.headers.has('location'), `status ${res.status}${res.headers.has('location') ? ', redirected' : ''}`);
  }
  const anonymous = await get('Patient');
  const challenge = anonymous.headers.get('www-authenticate') ?? '';
  check('no token: 401 with a Bearer challenge', anonymous.status === 401 && /^Bearer\b/i.test(challenge), `status ${anonymous.status}, WWW-Authenticate ${JSON.stringify(challenge)}`);

  const store = openFhirStore(target.fhirStoreUrl);
  const cleanup: [string, () => Promise<unknown>][] = [];
  const pool = { UserPoolId: target.userPoolId };
  try {
    const tag = randomBytes(4).toString('hex');
    const own = [await store.createPatient({ name: `fhirgate smoke ${tag} one` }), await store.createPatient({ name: `fhirgate smoke ${tag} two` })];
    const foreign = await store.createPatient({ name: `fhirgate smoke ${tag} foreign` });
    for (const id of [...own, foreign]) cleanup.push([`Patient/${id}`, () => store.deletePatient(id)]);

    const username = `fhirgate-smoke-${tag}`;
    const password = `Sm0ke-${randomBytes(12).toString('base64url')}a7!`;
    await target.cognito
      .send(new AdminCreateUserCommand({ ...pool, Username: username, MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'email', Value: `${username}@example.invalid` }, { Name: 'email_verified', Value: 'true' }] }))
      .catch((err: unknown) => {
        throw cognitoFailure(target, 'creating the smoke user', err);
      });
    cleanup.push([`Cognito user ${username}`, () => target.cognito.send(new AdminDeleteUserCommand({ ...pool, Username: username }))]);
    await target.cognito.send(new AdminSetUserPasswordCommand({ ...pool, Username: username, Password: password, Permanent: true }));
    await target.cognito.send(new AdminAddUserToGroupCommand({ ...pool, Username: username, GroupName: target.authorizer.settings.roles.guardian.group }));
    const sub = (await target.cognito.send(new AdminGetUserCommand({ ...pool, Username: username }))).UserAttributes?.find((a) => a.Name === 'sub')?.Value;
    if (!sub) throw new CliError('Cognito returned no sub for the smoke user');
    await ctx.links.create({ sub, role: 'guardian', patients: own });
    cleanup.push([`link record ${sub}`, () => ctx.links.delete(sub)]);

    const auth = await target.cognito
      .send(new AdminInitiateAuthCommand({ ...pool, ClientId: webClientId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password } }))
      .catch((err: unknown) => {
        throw cognitoFailure(target, 'signing in the smoke user (ADMIN_USER_PASSWORD_AUTH)', err);
      });
    const userToken = auth.AuthenticationResult?.AccessToken;
    if (!userToken) throw new CliError(`sign-in of the smoke user returned no access token${auth.ChallengeName ? ` (challenge ${auth.ChallengeName})` : ''}`);

    const ownRead = await get(`Patient/${own[0]}`, userToken);
    check('user token: own patient is readable (200)', ownRead.status === 200 && ownRead.body?.id === own[0], `status ${ownRead.status}`);
    const foreignRead = await get(`Patient/${foreign}`, userToken);
    check("user token: another patient reads as missing (404)", foreignRead.status === 404 && foreignRead.body?.resourceType === 'OperationOutcome', `status ${foreignRead.status}`);

    // Paging: two patients, one per page; the next link is bound to the caller who got it.
    const page = await get('Patient?_count=1', userToken);
    const next = (page.body?.link as { relation?: string; url?: string }[] | undefined)?.find((l) => l.relation === 'next')?.url;
    const nextPath = next?.startsWith(`${fhir}/`) ? next.slice(fhir.length + 1) : undefined;
    const second = nextPath ? await get(nextPath, userToken) : undefined;
    check('paging: the next link works for its caller', second?.status === 200, next ? `status ${second?.status}` : `no next link on the first page (status ${page.status})`);

    const tokenUrl = actor.tokenUrl;
    const machine = clientCredentialsTokens({ tokenUrl, clientId: actor.clientId, clientSecret: actor.clientSecret });
    const obo = onBehalfOfTokens({ tokenUrl: target.tokenExchangeUrl, actorToken: () => machine.token('fhirgate/delegate') });
    let exchanged: string | undefined;
    try {
      exchanged = await obo.token(userToken, own[0]);
      check('token exchange (RFC 8693) issues an on-behalf-of token', true, 'issued');
    } catch (err) {
      check('token exchange (RFC 8693) issues an on-behalf-of token', false, err instanceof Error ? err.message : String(err));
    }
    if (exchanged) {
      const viaExchange = await get(`Patient/${own[0]}`, exchanged);
      const otherOwn = await get(`Patient/${own[1]}`, exchanged);
      check('exchanged token: its patient 200, the user\'s other patient 404', viaExchange.status === 200 && otherOwn.status === 404, `statuses ${viaExchange.status}, ${otherOwn.status}`);
      const stolen = nextPath ? await get(nextPath, exchanged) : undefined;
      check('paging: the same link is refused for another caller', stolen !== undefined && stolen.status >= 400 && stolen.status < 500, `status ${stolen?.status}`);
    }
  } finally {
    for (const [what, undo] of cleanup.reverse()) {
      await undo().catch((err: unknown) => out.warn(`cleanup: could not remove ${what}: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  const failed = checks.filter((c) => !c.ok);
  out.result({ target: target.description, ok: failed.length === 0, checks }, () => [
    ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}${c.ok ? '' : `  (${c.detail})`}`),
    failed.length === 0 ? `all ${checks.length} checks passed against ${target.description}` : `${failed.length} of ${checks.length} checks failed against ${target.description}`,
  ]);
  return failed.length === 0 ? 0 : 1;
}

/** The machine client that exchanges tokens, and where it gets its own token. */
async function actorCredentials(target: Target, name: string): Promise<{ clientId: string; clientSecret: string; tokenUrl: string }> {
  if (target.local) {
    const client = target.local.machineClients.find((c) => c.name === name || c.clientId === name);
    if (!client) throw new CliError(`no machine client ${name} in stack.json`);
    return { clientId: client.clientId, clientSecret: client.clientSecret, tokenUrl: target.local.cognito.tokenUrl };
  }
  // AWS: the stack's API server client (first on the machine allow-list) and the pool's domain.
  const clientId = target.authorizer.clients.machineClientIds[0];
  if (!clientId) throw new CliError(`${target.description} names no API server client`);
  const [client, poolInfo] = await Promise.all([
    target.cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: target.userPoolId, ClientId: clientId })),
    target.cognito.send(new DescribeUserPoolCommand({ UserPoolId: target.userPoolId })),
  ]).catch((err: unknown) => {
    throw cognitoFailure(target, 'reading the API server client', err);
  });
  const secret = client.UserPoolClient?.ClientSecret;
  const domain = poolInfo.UserPool?.Domain;
  if (!secret || !domain) throw new CliError('the API server client has no secret, or the pool no domain');
  return { clientId, clientSecret: secret, tokenUrl: `https://${domain}.auth.${target.region}.amazoncognito.com/oauth2/token` };
}
