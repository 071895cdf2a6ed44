/**
 * `fhirgate clients …`: the registry of SMART Backend Services clients (private_key_jwt) — which
 * public keys may sign a client's assertions and which `system/` scopes it may be issued. Every
 * registration is checked with the token service's own rules (`parseBackendClient`) and written in
 * the item shape the token service reads (functions/token-exchange/client-tables.ts).
 *
 * The registry says who can authenticate; the deployment allow-list (`backendClientIds`) says who
 * may reach the FHIR API. The CLI changes the first and tells the operator about the second.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BackendClient, ClientKeys, MAX_BACKEND_TOKEN_LIFETIME_SECONDS, parseBackendClient } from '../../../functions/core/client-assertion';
import { coveredBy } from '../../../functions/core/scope-check';
import { parseScopeString } from '../../../functions/core/scopes';
import { backendClientFromItem, backendClientToItem, CLIENTS_TABLE } from '../../../functions/token-exchange/client-tables';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { Item, StatusTable } from '../status-table';
import { fields, table } from '../output';
import { cacheTtls, STACK_OUTPUTS, Target } from '../target';
import { revocationWindow } from '../../../functions/core/revocation';

interface RegisterOpts {
  readonly clientId: string;
  readonly jwksUrl?: string;
  readonly jwksFile?: string;
  readonly scope: string[];
  readonly name?: string;
  readonly replace?: boolean;
}
interface RevokeOpts {
  readonly clientId: string;
}

/** A registry item as read: the registration, or why the token service cannot use it. */
type ReadClient = { readonly ok: true; readonly client: BackendClient } | { readonly ok: false; readonly clientId: string; readonly status: string; readonly reason: string };

/** A JWKS holds a few public keys; a bigger file is not one. */
const MAX_JWKS_FILE_BYTES = 64 * 1024;
const A = CLIENTS_TABLE.attributes;

export function registerClients(program: Command, runner: Runner): void {
  const clients = program
    .command('clients')
    .description('SMART Backend Services clients (private_key_jwt): their public keys and the system/ scopes the token service may issue them')
    .addHelpText(
      'after',
      '\nA client authenticates at the token URL with a JWT it signs (RS384 or ES384). Its tokens reach the FHIR API only\n' +
        'when its id is also on the deployment allow-list (CDK setting backendClientIds → FHIRGATE_BACKEND_CLIENT_IDS).',
    );

  clients
    .command('register')
    .description("register a backend client: its PUBLIC keys (a JWKS URL or an inline JWKS) and the system/ scopes it may be issued")
    .addOption(clientIdOption())
    .addOption(new Option('--jwks-url <url>', 'https URL where the client publishes its public JWKS (it rotates keys without us)').conflicts('jwksFile'))
    .option('--jwks-file <path>', 'a JSON file with the client\'s public JWKS ({"keys":[…]}), stored in the registry')
    .addOption(new Option('--scope <scope>', 'a system/ scope the client may be issued (repeat, or separate with spaces)').argParser(collectScopes).makeOptionMandatory())
    .option('--name <text>', 'a name for people')
    .option('--replace', 'replace the active registration of this client id (its keys, scopes and name)')
    .addHelpText(
      'after',
      '\nChecked with the token service\'s own rules first: public RSA/EC keys with a kid, system/ scopes only, an https JWKS URL.\n\n' +
        'Examples:\n' +
        '  fhirgate --local clients register --client-id reporting-etl --jwks-file etl-jwks.json --scope system/Observation.rs --name "Reporting ETL"\n' +
        "  fhirgate --stack Fhirgate clients register --client-id lab-sync --jwks-url https://lab.example.com/jwks.json --scope 'system/Observation.cruds'",
    )
    .action(async (opts: RegisterOpts, cmd: Command) => {
      const client = await registration(opts);
      await runner.run(cmd, (ctx) => register(ctx, client, Boolean(opts.replace)));
    });

  clients
    .command('list')
    .description('list registered backend clients: status, key source, scopes, name')
    .action((_opts: unknown, cmd: Command) => runner.run(cmd, (ctx) => list(ctx)));

  clients
    .command('revoke')
    .description('revoke a backend client: the token service refuses its next assertion (the item stays, for audit)')
    .addOption(clientIdOption())
    .action((opts: RevokeOpts, cmd: Command) => runner.run(cmd, (ctx) => revoke(ctx, opts.clientId)));
}

function clientIdOption(): Option {
  return new Option('--client-id <id>', 'the client id: iss and sub of its assertions, client_id of its tokens').makeOptionMandatory();
}

function collectScopes(value: string, previous: string[] | undefined): string[] {
  const scopes = value.split(/\s+/).filter(Boolean);
  if (scopes.length === 0) throw new InvalidArgumentError('empty scope');
  return [...(previous ?? []), ...scopes];
}

/** The registration the options describe, validated by the token service's rules (usage error otherwise). */
async function registration(opts: RegisterOpts): Promise<BackendClient> {
  if (opts.jwksUrl === undefined && opts.jwksFile === undefined) throw new UsageError("pass the client's public keys: --jwks-url <https URL> or --jwks-file <path>");
  const keys = opts.jwksUrl !== undefined ? { jwksUri: opts.jwksUrl } : { jwks: await readJwksFile(opts.jwksFile!) };
  const parsed = parseBackendClient({ clientId: opts.clientId, status: 'active', ...keys, scopes: opts.scope, ...(opts.name !== undefined ? { name: opts.name } : {}) });
  if (parsed.ok) return parsed.client;
  // The core's reasons name its fields; say which option that is (never echoing key material).
  const given: [RegExp, string][] = [
    [/^clientId/, `--client-id ${JSON.stringify(opts.clientId)}`],
    [/^jwksUri/, `--jwks-url ${JSON.stringify(opts.jwksUrl)}`],
    [/jwk/i, `--jwks-file ${JSON.stringify(opts.jwksFile)}`],
    [/^scopes/, `--scope ${JSON.stringify(opts.scope.join(' '))}`],
    [/^name/, '--name'],
  ];
  const option = given.find(([re]) => re.test(parsed.reason))?.[1];
  throw new UsageError(`refused by the token service's rules: ${parsed.reason}${option ? ` (${option})` : ''}; nothing was written`);
}

/** The file's text (parseBackendClient parses it). A PEM file is refused by name, its content never printed. */
async function readJwksFile(path: string): Promise<string> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_JWKS_FILE_BYTES) throw new UsageError(`--jwks-file ${path} is larger than ${MAX_JWKS_FILE_BYTES} bytes: not a JWKS`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read --jwks-file ${path} (${err instanceof Error && 'code' in err ? String(err.code) : String(err)})`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new UsageError(`--jwks-file ${path} holds a PEM PRIVATE key: give the client's PUBLIC keys as a JWKS ({"keys":[…]}); nothing was written`);
  if (text.includes('-----BEGIN ')) throw new UsageError(`--jwks-file ${path} holds a PEM key, not a JWKS: convert the PUBLIC key to a JWK with a kid ({"keys":[…]})`);
  return text;
}

async function register(ctx: Context, client: BackendClient, replace: boolean): Promise<void> {
  const { target, out } = ctx;
  const registry = openRegistry(target);
  const item = backendClientToItem(client);
  // The token service reads the item back with the same parser (as putBackendClient checks).
  if (!parseBackendClient(backendClientFromItem(item)).ok) throw new TypeError(`the registry item of ${client.clientId} would not read back`);
  const beyond = beyondCeiling(client, target.authorizer.settings.systemCeilingScopes);
  if (beyond.length > 0) {
    out.warn(`${beyond.join(' ')} goes beyond the system ceiling (${target.authorizer.settings.systemCeilingScopes.join(' ')}): the client is issued at most what both allow`);
  }
  const previous = await registry.put(item, replace, `backend client ${client.clientId} is already registered and active; pass --replace to replace its keys, scopes and name`);
  const was = previous ? readClient(previous) : undefined;
  const allowList = target.authorizer.clients.backendClientIds;
  const allowListed = allowList === undefined ? null : allowList.includes(client.clientId);
  const tokenUrl = target.tokenExchangeUrl;
  const note = allowListNote(target, client.clientId, allowList);
  const aud = `Its assertions (RS384 or ES384, iss = sub = ${client.clientId}) must carry aud = ${tokenUrl ?? 'the token URL'}, exactly.`;
  const headline = was ? `Replaced the registration of backend client ${client.clientId} (was ${was.ok ? was.client.status : `invalid: ${was.reason}`})` : `Registered backend client ${client.clientId}`;
  out.result({ ...clientJson({ ok: true, client }), replaced: was ? clientJson(was) : null, tokenUrl: tokenUrl ?? null, allowListed, note }, () => [
    headline,
    ...describe(client, ['token URL', tokenUrl ?? `unknown (${target.description} has no output ${STACK_OUTPUTS.tokenExchangeUrl})`]),
    aud,
    note,
  ]);
}

async function list(ctx: Context): Promise<void> {
  const id = (c: ReadClient) => (c.ok ? c.client.clientId : c.clientId);
  const all = (await openRegistry(ctx.target).scan()).map(readClient).sort((a, b) => id(a).localeCompare(id(b)));
  ctx.out.result(all.map(clientJson), () =>
    all.length === 0
      ? ['No backend clients are registered.']
      : table(
          ['CLIENT ID', 'STATUS', 'KEYS', 'SCOPES', 'NAME'],
          all.map((c) =>
            c.ok
              ? [c.client.clientId, c.client.status, keySource(c.client.keys), c.client.scopes.join(' '), c.client.name ?? '-']
              : [c.clientId, c.status, '?', '?', `INVALID: ${c.reason}`],
          ),
        ),
  );
}

async function revoke(ctx: Context, clientId: string): Promise<void> {
  const { target } = ctx;
  const previous = await openRegistry(target).revoke(clientId, 'revoking the client');
  if (!previous) throw new CliError(`no backend client ${clientId} in the registry (see fhirgate clients list)`);
  const was = previous[A.status]?.S;
  if (was === 'revoked') {
    ctx.out.result({ clientId, status: 'revoked', changed: false }, () => [`Backend client ${clientId} was already revoked; nothing changed`]);
    return;
  }
  // Its system/ tokens are not checked against the registry per request: the bound is the longest
  // lifetime the token service issues plus API Gateway's cache of the authorizer's answer.
  const ttls = cacheTtls(target);
  const window = revocationWindow('system', ttls, MAX_BACKEND_TOKEN_LIFETIME_SECONDS);
  const note =
    `The token service refuses its next assertion (invalid_client). Tokens already issued are not checked against the registry: ` +
    `they stay valid until they expire (at most ${MAX_BACKEND_TOKEN_LIFETIME_SECONDS} s), and API Gateway may serve its cached decision ` +
    `${ttls.authorizerCacheTtlSeconds} s longer${ttls.stated ? '' : ' (the default)'}: every request of this client is refused within ${window.seconds} s.`;
  ctx.out.result({ clientId, status: 'revoked', changed: true, previousStatus: was ?? null, note }, () => [
    `Revoked backend client ${clientId}; its registration stays in the registry (status revoked), for audit.`,
    note,
  ]);
}

/** What the operator must know about the deployment allow-list after a registration. */
function allowListNote(target: Target, clientId: string, allowList: readonly string[] | undefined): string {
  if (allowList?.includes(clientId)) return `${clientId} is on the backend client allow-list of ${target.description}: it can get tokens now.`;
  const rule =
    `Before the FHIR API accepts its tokens, ${clientId} must also be on the deployment allow-list: FHIRGATE_BACKEND_CLIENT_IDS on the authorizer ` +
    `and the token service, set through the CDK setting backendClientIds; until then the token service answers it unauthorized_client.`;
  if (allowList === undefined) return rule;
  const now = allowList.length > 0 ? allowList.join(', ') : 'no client';
  return `${rule} ${target.kind === 'local' ? 'This local stack allow-lists' : `${target.description} allow-lists`} ${now}.`;
}

/** Registered scopes the system ceiling does not cover (the token service issues the intersection). */
function beyondCeiling(client: BackendClient, ceiling: readonly string[]): string[] {
  const grants = parseScopeString(ceiling.join(' ')).resource;
  return parseScopeString(client.scopes.join(' ')).resource.filter((s) => !coveredBy(s, grants)).map((s) => s.raw);
}

function readClient(item: Item): ReadClient {
  const values = backendClientFromItem(item);
  const parsed = parseBackendClient(values);
  if (parsed.ok) return parsed;
  return { ok: false, clientId: String(values[A.clientId] ?? '?'), status: String(values[A.status] ?? '?'), reason: parsed.reason };
}

function keySource(keys: ClientKeys): string {
  return keys.kind === 'jwks_uri' ? `jwks_uri ${keys.uri}` : `inline kid ${keys.jwks.keys.map((k) => String(k.kid)).join(',')}`;
}

function clientJson(c: ReadClient): Record<string, unknown> {
  if (!c.ok) return { clientId: c.clientId, status: c.status, invalid: c.reason };
  const { clientId, status, keys, scopes, name } = c.client;
  const source = keys.kind === 'jwks_uri' ? { source: 'jwks_uri', uri: keys.uri } : { source: 'inline', kids: keys.jwks.keys.map((k) => String(k.kid)) };
  return { clientId, status, keys: source, scopes, name: name ?? null };
}

function describe(client: BackendClient, ...more: (readonly [string, string])[]): string[] {
  const { status, keys, scopes, name } = client;
  const kinds = keys.kind === 'jwks' ? keys.jwks.keys.map((k) => `${String(k.kid)} (${String(k.kty)}${k.crv ? ` ${String(k.crv)}` : ''})`) : [];
  return fields([
    ['status', status],
    ['keys', keys.kind === 'jwks_uri' ? `JWKS URL ${keys.uri}` : `inline JWKS, kid ${kinds.join(', ')}`],
    ['scopes', scopes.join(' ')],
    ['name', name],
    ...more,
  ]);
}

function openRegistry(target: Target): StatusTable {
  if (!target.clientsTable) {
    const why = target.kind === 'local' ? 'stack.json has no dynamodb.clientsTable: restart the local stack with npm start' : `no output ${STACK_OUTPUTS.clientsTable}: deploy the current fhirgate stack`;
    throw new CliError(`${target.description} has no backend client registry (${why})`);
  }
  return new StatusTable(target.dynamo, target.clientsTable, 'client registry', target.kind === 'local' ? ' (is the local stack running? npm start)' : '');
}
