/**
 * Which fhirgate the CLI talks to: the local stack (`--local`, its `stack.json`) or a deployed
 * CloudFormation stack (`--stack <name>`, its outputs). Both become one `Target`: the Cognito user
 * pool, the links table, the backend client registry, the FHIR store and the authorizer's trust
 * configuration.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TrustedIssuer } from '../../functions/adapters/verifier';
import type { ClientAllowList } from '../../functions/core/principal';
import { CacheTtls, linkRevocationSeconds } from '../../functions/core/revocation';
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../../functions/core/settings';
import type { StackInfo } from './stack-info';
import { DEFAULT_FHIRGATE_SETTINGS } from '../../lib/settings';
import { CliError, failure, UsageError } from './errors';

/**
 * CloudFormation output keys the CLI reads from `--stack`, as lib/fhirgate-stack.ts defines them;
 * the one place to adjust if the stack renames them.
 */
export const STACK_OUTPUTS = {
  /** Cognito user pool id (required). */
  userPoolId: 'UserPoolId',
  /** The user-facing app client id (required): the authorizer's user client allow-list. */
  webClientId: 'WebClientId',
  /** The links table name (required). */
  linksTable: 'LinksTableName',
  /** The backend client registry (SMART Backend Services, private_key_jwt); `clients` commands only. */
  clientsTable: 'ClientsTableName',
  /** The SMART app registry (App Launch); `apps` commands only. */
  appsTable: 'AppsTableName',
  /** Backend client ids on the deployment allow-list (`backendClientIds`), comma-separated (not output by the stack yet). */
  backendClientIds: 'BackendClientIds',
  /** The API server's client_credentials client: on the authorizer's machine allow-list. */
  apiServerClientId: 'ApiServerClientId',
  /** Further machine client ids, comma-separated (not output by the stack yet). */
  machineClientIds: 'MachineClientIds',
  /** Public FHIR base URL (API Gateway): also the `aud` of exchanged tokens. */
  fhirBaseUrl: 'FhirBaseUrl',
  /** RFC 8693 endpoint `…/auth/token`; exchanged tokens carry `iss` `…/auth`. */
  tokenExchangeUrl: 'TokenExchangeUrl',
  /** Public keys of exchanged tokens. */
  jwksUrl: 'JwksUrl',
  /** The HealthLake data store: named in the warning when patients cannot be checked. */
  healthLakeDatastoreId: 'HealthLakeDatastoreId',
  /** Seconds the authorizer caches a link record. */
  linkCacheTtlSeconds: 'LinkCacheTtlSeconds',
  /** Seconds API Gateway caches an authorizer answer per token. */
  authorizerCacheTtlSeconds: 'AuthorizerCacheTtlSeconds',
} as const;


export interface Target {
  readonly kind: 'local' | 'aws';
  /** For messages: `the local stack (…/stack.json)`, `stack fhirgate-prod (eu-west-1)`. */
  readonly description: string;
  readonly region: string;
  readonly account: string;
  readonly userPoolId: string;
  readonly linksTable: string;
  /** The backend client registry table, when the target has one (a stack deployed before it has not). */
  readonly clientsTable?: string;
  /** The SMART app registry table, when the target offers App Launch. */
  readonly appsTable?: string;
  readonly cognito: CognitoIdentityProviderClient;
  readonly dynamo: DynamoDBClient;
  /** What this target's authorizer trusts: the same configuration its Lambda (or the local stack) uses. */
  readonly authorizer: { readonly issuers: readonly TrustedIssuer[]; readonly clients: ClientAllowList; readonly settings: AuthzSettings };
  /** Seconds the authorizer caches a link record, when the target says; else the default applies. */
  readonly linkCacheTtlSeconds?: number;
  /** Seconds API Gateway caches an authorizer answer, when the target says; else the default applies. */
  readonly authorizerCacheTtlSeconds?: number;
  readonly fhirBaseUrl?: string;
  /** `POST …/auth/token`: the token exchange, and the `aud` of every backend client assertion. */
  readonly tokenExchangeUrl?: string;
  /** Where patients are checked and created: the FHIR store itself, not the gateway. */
  readonly fhirStoreUrl?: string;
  /** The FHIR store URL to suggest for `--fhir-url` when there is none (AWS). */
  readonly suggestedFhirStoreUrl?: string;
  /** The local stack's description (passwords, machine clients, token URLs); local only. */
  readonly local?: LocalStackJson;
  close(): void;
}

/** stack.json as written by the local stack, plus keys it may add later (never renamed). */
export type LocalStackJson = StackInfo & {
  readonly linkCacheTtlSeconds?: number;
  readonly authorizerCacheTtlSeconds?: number;
  readonly settings?: unknown;
  /** The exchange's trust anchor, if the stack states it; otherwise derived from tokenExchangeUrl. */
  readonly tokenExchange?: { readonly issuer: string; readonly jwksUri: string; readonly audience?: string };
};

export interface TargetOptions {
  readonly local?: boolean;
  readonly stack?: string;
  readonly region?: string;
  /** Override of the FHIR store used for patient checks (required for them in AWS). */
  readonly fhirUrl?: string;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** Any 12 digits: the local gateway's method ARNs use this account. */
const LOCAL_ACCOUNT = '000000000000';

/** Open the target the options name; a usage error when there is none or two. */
export async function openTarget(options: TargetOptions, env: NodeJS.ProcessEnv, cwd: string): Promise<Target> {
  if (options.local && options.stack) throw new UsageError('choose one target: --local or --stack <name>, not both');
  if (options.local) return localTarget(await readStackJson(env, cwd), stackJsonPath(env, cwd), options);
  if (options.stack) return stackTarget(options.stack, options);
  throw new UsageError('no target: pass --local (the local stack) or --stack <name> (a deployed CloudFormation stack)');
}

/** `$FHIRGATE_DIR/stack.json`, else `.local/stack.json`, relative to the working directory like `npm start`. */
export function stackJsonPath(env: NodeJS.ProcessEnv, cwd: string): string {
  return join(resolve(cwd, env.FHIRGATE_DIR || '.local'), 'stack.json');
}

async function readStackJson(env: NodeJS.ProcessEnv, cwd: string): Promise<LocalStackJson> {
  const file = stackJsonPath(env, cwd);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`no local stack: ${file} not found (start one with npm start, or set FHIRGATE_DIR)`);
  }
  let json: Partial<LocalStackJson>;
  try {
    json = JSON.parse(text) as Partial<LocalStackJson>;
  } catch {
    throw new CliError(`${file} is not valid JSON`);
  }
  const ok =
    typeof json.cognito?.endpoint === 'string' &&
    typeof json.cognito.userPoolId === 'string' &&
    typeof json.cognito.webClientId === 'string' &&
    typeof json.dynamodb?.endpoint === 'string' &&
    typeof json.dynamodb.linksTable === 'string';
  if (!ok) throw new CliError(`${file} does not describe a fhirgate local stack (cognito or dynamodb missing)`);
  return json as LocalStackJson;
}

function localTarget(info: LocalStackJson, file: string, options: TargetOptions): Target {
  const cognito = new CognitoIdentityProviderClient({ endpoint: info.cognito.endpoint, region: info.cognito.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const dynamo = new DynamoDBClient({
    endpoint: info.dynamodb.endpoint,
    region: info.cognito.region,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
  });
  const issuers: TrustedIssuer[] = [{ kind: 'cognito-compatible', issuer: info.cognito.issuer, jwksUri: info.cognito.jwksUri }];
  const exchange = exchangeIssuer(info);
  if (exchange) issuers.push(exchange);
  return {
    kind: 'local',
    description: `the local stack (${file})`,
    region: info.cognito.region,
    account: LOCAL_ACCOUNT,
    userPoolId: info.cognito.userPoolId,
    linksTable: info.dynamodb.linksTable,
    // Optional at run time: a stack.json written before the client registry existed has none.
    clientsTable: typeof info.dynamodb.clientsTable === 'string' ? info.dynamodb.clientsTable : undefined,
    appsTable: typeof info.dynamodb.appsTable === 'string' ? info.dynamodb.appsTable : undefined,
    cognito,
    dynamo,
    authorizer: {
      issuers,
      clients: {
        userClientIds: [info.cognito.webClientId],
        machineClientIds: (info.machineClients ?? []).map((c) => c.clientId),
        // local/stack/stack.ts allow-lists exactly the backend clients it describes in stack.json.
        ...(Array.isArray(info.backendClients) ? { backendClientIds: info.backendClients.map((c) => c.clientId) } : {}),
      },
      settings: info.settings === undefined ? DEFAULT_SETTINGS : parseSettings(info.settings),
    },
    linkCacheTtlSeconds: info.linkCacheTtlSeconds,
    authorizerCacheTtlSeconds: info.authorizerCacheTtlSeconds,
    fhirBaseUrl: info.fhirBaseUrl,
    tokenExchangeUrl: info.tokenExchangeUrl,
    fhirStoreUrl: options.fhirUrl ?? info.backendFhirBaseUrl,
    local: info,
    close: () => {
      cognito.destroy();
      dynamo.destroy();
    },
  };
}

/**
 * The token exchange's issuer as the local authorizer trusts it: stated by stack.json
 * (`tokenExchange`), or derived from `tokenExchangeUrl` — the exchange answers `…/auth/token` and
 * publishes `…/auth/jwks.json`, its tokens carry `iss` `…/auth` and `aud` the FHIR base URL.
 */
function exchangeIssuer(info: LocalStackJson): TrustedIssuer | undefined {
  if (info.tokenExchange) {
    return { kind: 'fhirgate-exchange', issuer: info.tokenExchange.issuer, jwksUri: info.tokenExchange.jwksUri, audience: info.tokenExchange.audience ?? info.fhirBaseUrl };
  }
  if (!info.tokenExchangeUrl?.endsWith('/token')) return undefined;
  const issuer = info.tokenExchangeUrl.slice(0, -'/token'.length);
  return { kind: 'fhirgate-exchange', issuer, jwksUri: `${issuer}/jwks.json`, audience: info.fhirBaseUrl };
}

async function stackTarget(stackName: string, options: TargetOptions): Promise<Target> {
  const cfn = new CloudFormationClient(options.region ? { region: options.region } : {});
  let outputs: Record<string, string>;
  let arn: string;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack?.StackId) throw new CliError(`stack ${stackName} not found`);
    arn = stack.StackId;
    outputs = Object.fromEntries((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
  } catch (err) {
    if (err instanceof Error && err.name === 'ValidationError' && /does not exist/.test(err.message)) throw new CliError(`stack ${stackName} not found`);
    throw failure(`reading the outputs of stack ${stackName}`, err);
  } finally {
    cfn.destroy();
  }
  // arn:aws:cloudformation:{region}:{account}:stack/{name}/{id}
  const [, , , region = '', account = ''] = arn.split(':');
  return targetFromOutputs(stackName, region, account, outputs, options);
}

/** Build an AWS target from a stack's outputs (exported for tests). */
export function targetFromOutputs(stackName: string, region: string, account: string, outputs: Readonly<Record<string, string>>, options: TargetOptions = {}): Target {
  const required = (key: string): string => {
    const value = outputs[key];
    if (!value) throw new CliError(`stack ${stackName} has no output ${key}; is it a fhirgate stack?`);
    return value;
  };
  const userPoolId = required(STACK_OUTPUTS.userPoolId);
  const webClientId = required(STACK_OUTPUTS.webClientId);
  const linksTable = required(STACK_OUTPUTS.linksTable);
  const list = (key: string) => (outputs[key] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const fhirBaseUrl = outputs[STACK_OUTPUTS.fhirBaseUrl];
  const issuers: TrustedIssuer[] = [{ kind: 'cognito', userPoolId }];
  // lib/api.ts: the exchange answers `{base}/auth/token`, signs with issuer `{base}/auth`, audience the FHIR base URL.
  const exchangeUrl = outputs[STACK_OUTPUTS.tokenExchangeUrl];
  const jwksUrl = outputs[STACK_OUTPUTS.jwksUrl];
  if (exchangeUrl?.endsWith('/token') && jwksUrl && fhirBaseUrl) {
    issuers.push({ kind: 'fhirgate-exchange', issuer: exchangeUrl.slice(0, -'/token'.length), jwksUri: jwksUrl, audience: fhirBaseUrl });
  }
  const machineClientIds = [...new Set([...list(STACK_OUTPUTS.apiServerClientId), ...list(STACK_OUTPUTS.machineClientIds)])];
  // Known only when the stack outputs it; otherwise the authorizer's allow-list is not known here.
  const backendClientIds = outputs[STACK_OUTPUTS.backendClientIds] === undefined ? undefined : list(STACK_OUTPUTS.backendClientIds);
  const datastore = outputs[STACK_OUTPUTS.healthLakeDatastoreId];
  const seconds = (key: string): number | undefined => (/^\d+$/.test(outputs[key] ?? '') ? Number(outputs[key]) : undefined);
  const cognito = new CognitoIdentityProviderClient({ region });
  const dynamo = new DynamoDBClient({ region, requestHandler: { connectionTimeout: 2000, requestTimeout: 5000 } });
  return {
    kind: 'aws',
    description: `stack ${stackName} (${region})`,
    region,
    account,
    userPoolId,
    linksTable,
    clientsTable: outputs[STACK_OUTPUTS.clientsTable] || undefined,
    appsTable: outputs[STACK_OUTPUTS.appsTable] || undefined,
    cognito,
    dynamo,
    authorizer: { issuers, clients: { userClientIds: [webClientId], machineClientIds, ...(backendClientIds ? { backendClientIds } : {}) }, settings: DEFAULT_SETTINGS },
    linkCacheTtlSeconds: seconds(STACK_OUTPUTS.linkCacheTtlSeconds),
    authorizerCacheTtlSeconds: seconds(STACK_OUTPUTS.authorizerCacheTtlSeconds),
    fhirBaseUrl,
    tokenExchangeUrl: exchangeUrl,
    // Patients are checked in AWS only when the operator names the store (and so accepts the SigV4 call).
    fhirStoreUrl: options.fhirUrl,
    suggestedFhirStoreUrl: datastore ? `https://healthlake.${region}.amazonaws.com/datastore/${datastore}/r4` : undefined,
    close: () => {
      cognito.destroy();
      dynamo.destroy();
    },
  };
}

/** The warning when patient ids cannot be checked against the FHIR store. */
export function uncheckedPatientsWarning(target: Target): string {
  return `patient ids were NOT checked against the FHIR store (pass --fhir-url ${target.suggestedFhirStoreUrl ?? '<FHIR base URL>'} to check them)`;
}

/** The target's two cache TTLs (its own figures, else the documented defaults) and whether it stated both. */
export function cacheTtls(target: Target): CacheTtls & { readonly stated: boolean } {
  return {
    // A target that does not state a TTL runs the deployment default (lib/settings.ts).
    authorizerCacheTtlSeconds: target.authorizerCacheTtlSeconds ?? DEFAULT_FHIRGATE_SETTINGS.authorizerCacheTtlSeconds,
    linkCacheTtlSeconds: target.linkCacheTtlSeconds ?? DEFAULT_FHIRGATE_SETTINGS.linkCacheTtlSeconds,
    stated: target.authorizerCacheTtlSeconds !== undefined && target.linkCacheTtlSeconds !== undefined,
  };
}

/** What to tell the operator after a change to a user's link: by when every request it refuses is refused. */
export function takesEffectNote(target: Target): string {
  const ttls = cacheTtls(target);
  const by = (stated: number | undefined, value: number) => (stated === undefined ? `${value} s by default` : `${value} s`);
  return (
    `This change reaches every request within ${linkRevocationSeconds(ttls)} s${ttls.stated ? '' : ' (with the default cache settings)'}: ` +
    `the authorizer result cache TTL (${by(target.authorizerCacheTtlSeconds, ttls.authorizerCacheTtlSeconds)}) + the link cache TTL (${by(target.linkCacheTtlSeconds, ttls.linkCacheTtlSeconds)}).`
  );
}
