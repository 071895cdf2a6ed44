/**
 * `fhirgate whoami --token …`: what the authorizer makes of a token. It runs the authorizer's own
 * handler (`createAuthorizerHandler` over `createTokenVerifier` and `DynamoLinkStore`), configured
 * from the target the way the target's authorizer is, on a synthetic API Gateway TOKEN event —
 * so its verdict is the authorizer's, not a re-implementation. The first thing to run when a
 * request is refused.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { Command } from 'commander';
import { createAuthorizerHandler } from '../../../functions/authorizer/handler';
import { DynamoLinkStore } from '../../../functions/adapters/link-store';
import { LoopbackAwareFetcher } from '../../../functions/adapters/jwks-fetcher';
import { createTokenVerifier, TokenVerifier } from '../../../functions/adapters/verifier';
import type { PrincipalKind } from '../../../functions/core/principal';
import { revocationWindow, RevocationWindow } from '../../../functions/core/revocation';
import type { LogRecord } from '../../../functions/common/log';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { fields } from '../output';
import { cacheTtls } from '../target';

interface WhoamiOptions {
  readonly token: string;
}

/** The authorizer's verdict, as API Gateway would turn it into a response. */
type Verdict =
  | { readonly effect: 'Allow'; readonly status: 200; readonly principal: Record<string, string | string[]> }
  | { readonly effect: 'Deny' | 'Unauthorized' | 'Error'; readonly status: 403 | 401 | 500; readonly code?: string; readonly reason?: string; readonly claim?: string };

export function registerWhoami(program: Command, runner: Runner): void {
  program
    .command('whoami')
    .description('verify a token exactly as the authorizer does and show the principal, its scopes and patients (exit 1 if refused)')
    .requiredOption('--token <token>', 'the access token, or - to read it from stdin')
    .addHelpText(
      'after',
      '\nThe verdict is the authorizer\'s own code, run now against the target\'s JWKS and links table (no link cache).\n' +
        'Example:\n  fhirgate --local token --user alice | fhirgate --local whoami --token -',
    )
    .action(async (opts: WhoamiOptions, cmd: Command) => {
      const raw = opts.token === '-' ? await runner.io.readStdin() : opts.token;
      const token = raw.trim().replace(/^Bearer\s+/i, '');
      if (token === '') throw new UsageError('no token given (--token <token>, or --token - with the token on stdin)');
      await runner.run(cmd, (ctx) => whoami(ctx, token));
    });
}

async function whoami(ctx: Context, token: string): Promise<number> {
  const { target } = ctx;
  const { issuers, clients, settings } = target.authorizer;
  const logs: LogRecord[] = [];
  let verifier: TokenVerifier;
  try {
    // The local stack's emulators serve JWKS over plain HTTP on loopback; a deployed stack's never.
    const fetcher = target.kind === 'local' ? new LoopbackAwareFetcher() : undefined;
    verifier = createTokenVerifier({ issuers, clientIds: [...clients.userClientIds, ...clients.machineClientIds], fetcher });
  } catch (err) {
    throw new CliError(`the authorizer configuration of ${target.description} is unusable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const authorize = createAuthorizerHandler({
    verifier,
    links: new DynamoLinkStore(target.dynamo, target.linksTable),
    clients,
    settings,
    log: (record) => logs.push(record),
  });
  // Any FHIR method ARN of this account: the authorizer's policy never depends on the path.
  const methodArn = `arn:aws:execute-api:${target.region}:${target.account}:whoami/whoami/GET/fhir/Patient`;
  let verdict: Verdict;
  try {
    verdict = allowOrDeny(await authorize({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn }), logs);
  } catch (err) {
    const refusal = logs.find((r) => r.event === 'authorizer.deny');
    const unauthorized = err instanceof Error && err.message === 'Unauthorized';
    verdict = {
      effect: unauthorized ? 'Unauthorized' : 'Error',
      status: unauthorized ? 401 : 500,
      code: str(refusal?.code),
      reason: str(refusal?.reason) ?? (err instanceof Error ? err.message : String(err)),
      claim: str(refusal?.claim),
    };
  }
  const claims = verdict.effect === 'Allow' ? payload(token) : {};
  const about = {
    issuer: str(claims.iss),
    username: str(claims.username),
    expires: typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : undefined,
  };
  const machineName = target.local?.machineClients.find((c) => c.clientId === (verdict.effect === 'Allow' ? verdict.principal.clientId : undefined))?.name;
  // How long an operator's action (users disable/delete, links delete, clients revoke) takes to stop this token.
  const ttls = cacheTtls(target);
  const window =
    verdict.effect === 'Allow' && typeof claims.exp === 'number'
      ? { ...revocationWindow(verdict.principal.kind as PrincipalKind, ttls, claims.exp - Date.now() / 1000), defaultCacheSettings: !ttls.stated }
      : undefined;
  ctx.out.result({ ...verdict, ...(verdict.effect === 'Allow' ? { token: about, revocationWindow: window ?? null } : {}) }, () => describe(verdict, about, machineName, window));
  return verdict.effect === 'Allow' ? 0 : 1;
}

function allowOrDeny(result: APIGatewayAuthorizerResult, logs: readonly LogRecord[]): Verdict {
  const context = (result.context ?? {}) as Record<string, unknown>;
  const statement = result.policyDocument.Statement[0] as { Effect?: string } | undefined;
  if (statement?.Effect === 'Allow') {
    const list = (v: unknown) => (typeof v === 'string' && v !== '' ? v.split(' ') : []);
    const principal: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(context)) {
      if (typeof value === 'string') principal[key] = key === 'patients' || key === 'scopes' ? list(value) : value;
    }
    return { effect: 'Allow', status: 200, principal };
  }
  const refusal = logs.find((r) => r.event === 'authorizer.deny');
  return { effect: 'Deny', status: 403, code: str(context.code) ?? str(refusal?.code), reason: str(context.reason) ?? str(refusal?.reason), claim: str(refusal?.claim) };
}

function describe(
  v: Verdict,
  about: { issuer?: string; username?: string; expires?: string },
  machineName: string | undefined,
  window: (RevocationWindow & { defaultCacheSettings: boolean }) | undefined,
): string[] {
  if (v.effect !== 'Allow') {
    const outcome = { Deny: 'Deny (API Gateway answers 403)', Unauthorized: 'Unauthorized (API Gateway answers 401)', Error: 'Error (API Gateway answers 500)' }[v.effect];
    return [`${outcome}: ${v.code ?? 'ERR_INTERNAL'}`, ...fields([['reason', v.reason], ['claim', v.claim]])];
  }
  const p = v.principal;
  const patients = p.patients as string[];
  const who =
    p.kind === 'system'
      ? `machine client ${machineName ?? p.clientId} (all patients, within its scopes)`
      : p.kind === 'delegated'
        ? `client ${p.actor} acting for user ${p.sub}`
        : `${p.kind} ${about.username ?? p.sub}`;
  return [
    `Allow: ${who}`,
    ...fields([
      ['kind', p.kind as string],
      ['sub', p.sub as string],
      ['username', about.username],
      ['client', p.clientId as string],
      ['actor', p.actor as string | undefined],
      ['fhirUser', p.fhirUser as string | undefined],
      ['patients', p.kind === 'system' ? 'all' : patients.join(', ') || '-'],
      ['scopes', (p.scopes as string[]).join(' ')],
      ['issuer', about.issuer],
      ['expires', about.expires],
      ['revocation', window ? `within ${window.seconds} s of an operator's action: ${window.explanation}${window.defaultCacheSettings ? ' (default cache settings)' : ''}` : undefined],
    ]),
    'Verified now, with no link cache: the gateway may serve a decision cached before a recent link change.',
  ];
}

/** The verified token's payload (already checked by the authorizer; only read for display). */
function payload(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
