/**
 * `fhirgate apps …`: the registry of SMART App Launch apps (public browser clients) — their exact
 * redirect URIs and the scopes they may ask for. Every registration is checked with the token
 * service's own rule (`checkAppClient`) and written in the item shape it reads
 * (functions/token-exchange/app-tables.ts). What an app is granted is still the intersection with
 * what the user's role may be granted through an app (deployment settings, read-only by default).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AppClient, checkAppClient } from '../../../functions/core/app-launch';
import { appFromItem, appToItem } from '../../../functions/token-exchange/app-registry';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { StatusTable } from '../status-table';
import { fields, table } from '../output';
import { STACK_OUTPUTS, Target } from '../target';

interface RegisterOpts {
  readonly clientId: string;
  readonly redirectUri: string[];
  readonly scope: string[];
  readonly name?: string;
  readonly replace?: boolean;
}

export function registerApps(program: Command, runner: Runner): void {
  const apps = program.command('apps').description('SMART App Launch apps (public browser clients): redirect URIs and the scopes they may ask for');

  apps
    .command('register')
    .description('register a SMART app: its exact redirect URIs and the scopes it may ask for')
    .addOption(new Option('--client-id <id>', "the app's client_id").makeOptionMandatory())
    .addOption(new Option('--redirect-uri <uri>', 'an exact redirect URI (https; http only on loopback); repeat for more').argParser(collect).makeOptionMandatory())
    .addOption(new Option('--scope <scope>', 'openid, fhirUser, launch/patient, offline_access, online_access or a patient/ scope (repeat, or separate with spaces)').argParser(collectScopes).makeOptionMandatory())
    .option('--name <text>', 'shown to users on the patient picker')
    .option('--replace', 'replace the active registration of this client id')
    .addHelpText(
      'after',
      '\nExample:\n' +
        "  fhirgate --local apps register --client-id growth-chart --redirect-uri https://apps.example.com/growth/ --scope 'openid fhirUser launch/patient offline_access patient/Observation.rs' --name 'Growth chart'",
    )
    .action(async (opts: RegisterOpts, cmd: Command) => {
      let app: AppClient;
      try {
        app = checkAppClient({ clientId: opts.clientId, name: opts.name ?? opts.clientId, status: 'active', redirectUris: opts.redirectUri, scopes: opts.scope });
      } catch (err) {
        throw new UsageError(`refused by the token service's rules: ${err instanceof Error ? err.message : String(err)}; nothing was written`);
      }
      await runner.run(cmd, (ctx) => register(ctx, app, Boolean(opts.replace)));
    });

  apps
    .command('list')
    .description('list registered apps: status, redirect URIs, scopes, name')
    .action((_opts: unknown, cmd: Command) => runner.run(cmd, (ctx) => list(ctx)));

  apps
    .command('revoke')
    .description('revoke an app: no new launch, and its refresh tokens stop working at their next use (the item stays, for audit)')
    .addOption(new Option('--client-id <id>', "the app's client_id").makeOptionMandatory())
    .action((opts: { clientId: string }, cmd: Command) => runner.run(cmd, (ctx) => revoke(ctx, opts.clientId)));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectScopes(value: string, previous: string[] | undefined): string[] {
  const scopes = value.split(/\s+/).filter(Boolean);
  if (scopes.length === 0) throw new InvalidArgumentError('empty scope');
  return [...(previous ?? []), ...scopes];
}

async function register(ctx: Context, app: AppClient, replace: boolean): Promise<void> {
  const table = openApps(ctx.target);
  const previous = await table.put(appToItem(app), replace, `app ${app.clientId} is already registered and active; pass --replace to replace it`);
  const was = previous && appFromItem(previous);
  ctx.out.result({ ...app, replaced: was ?? null }, () => [
    was ? `Replaced the registration of app ${app.clientId} (was ${was.status})` : `Registered app ${app.clientId}`,
    ...describe(app),
    'It launches with aud = the FHIR base URL and PKCE S256; it is granted what it asks ∩ these scopes ∩ what the user\'s role may be granted through an app.',
  ]);
}

async function list(ctx: Context): Promise<void> {
  const all = (await openApps(ctx.target).scan()).flatMap((item) => appFromItem(item) ?? []).sort((a, b) => a.clientId.localeCompare(b.clientId));
  ctx.out.result(all, () =>
    all.length === 0
      ? ['No apps are registered.']
      : table(['CLIENT ID', 'STATUS', 'REDIRECT URIS', 'SCOPES', 'NAME'], all.map((a) => [a.clientId, a.status, a.redirectUris.join(' '), a.scopes.join(' '), a.name])),
  );
}

async function revoke(ctx: Context, clientId: string): Promise<void> {
  const previous = await openApps(ctx.target).revoke(clientId, 'revoking the app');
  if (!previous) throw new CliError(`no app ${clientId} in the registry (see fhirgate apps list)`);
  const changed = previous.status?.S !== 'revoked';
  const note =
    'The authorization server refuses its next launch, code and refresh (invalid_client). Access tokens already issued are not checked ' +
    'against the registry: they stay valid until they expire (5 minutes by default).';
  ctx.out.result({ clientId, status: 'revoked', changed, note }, () => [changed ? `Revoked app ${clientId}; its registration stays (status revoked), for audit.` : `App ${clientId} was already revoked; nothing changed`, note]);
}

function describe(app: AppClient): string[] {
  return fields([
    ['status', app.status],
    ['redirect URIs', app.redirectUris.join(' ')],
    ['scopes', app.scopes.join(' ')],
    ['name', app.name],
  ]);
}

function openApps(target: Target): StatusTable {
  if (!target.appsTable) {
    const why = target.kind === 'local' ? 'stack.json has no dynamodb.appsTable: restart the local stack with npm start' : `no output ${STACK_OUTPUTS.appsTable}: deploy the current fhirgate stack`;
    throw new CliError(`${target.description} has no app registry (${why})`);
  }
  return new StatusTable(target.dynamo, target.appsTable, 'app registry', target.kind === 'local' ? ' (is the local stack running? npm start)' : '');
}
