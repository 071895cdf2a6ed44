/**
 * `fhirgate users list|get`: each Cognito user beside what the authorizer will make of them —
 * enabled or not in Cognito, their link (role, patients, disabled mark) and the access state that
 * follows: `active`, `disabled` (link marked), `no link`, or `invalid link`.
 */
import { ListUsersCommand, UserType } from '@aws-sdk/client-cognito-identity-provider';
import type { Command } from 'commander';
import { cognitoFailure, resolveUser, roleGroupsOf } from '../cognito';
import type { Context, Runner } from '../context';
import type { ReadLink } from '../link-table';
import { userOption } from '../options';
import { fields, table } from '../output';
import type { Target } from '../target';

/** Register list and get under `users`. */
export function registerUserInfo(users: Command, runner: Runner): void {
  users
    .command('list')
    .description('list Cognito users with their link and whether the authorizer lets them in')
    .action((_opts: unknown, cmd: Command) => runner.run(cmd, (ctx) => listUsers(ctx)));
  users
    .command('get')
    .description('show one user: Cognito status, groups, link record and access state')
    .addOption(userOption())
    .action((opts: { user: string }, cmd: Command) => runner.run(cmd, (ctx) => getUser(ctx, opts.user)));
}

/** What the authorizer does with this user's tokens, from the link alone (Cognito state does not reach it). */
function access(link: ReadLink | undefined): string {
  if (!link) return 'no link';
  if (link.invalid) return 'invalid link';
  return link.disabledAt ? 'disabled' : 'active';
}

async function listUsers(ctx: Context): Promise<void> {
  const [users, links] = await Promise.all([poolUsers(ctx.target), ctx.links.list()]);
  const bySub = new Map(links.map((l) => [l.sub, l]));
  const rows = users.map((u) => {
    const link = bySub.get(u.sub);
    return { username: u.username, sub: u.sub, email: u.email ?? null, cognitoEnabled: u.enabled, status: u.status ?? null, role: link?.role ?? null, patients: link?.patients ?? [], disabledAt: link?.disabledAt ?? null, access: access(link) };
  });
  ctx.out.result(rows, () =>
    rows.length === 0
      ? ['No users.']
      : table(
          ['USERNAME', 'SUB', 'COGNITO', 'ROLE', 'PATIENTS', 'ACCESS'],
          rows.map((r) => [r.username, r.sub, r.cognitoEnabled ? 'enabled' : 'DISABLED', r.role ?? '-', r.patients.join(',') || '-', r.access]),
        ),
  );
}

async function getUser(ctx: Context, name: string): Promise<void> {
  const user = await resolveUser(ctx.target, name);
  const [stored, groups] = await Promise.all([ctx.links.get(user.sub), roleGroupsOf(ctx.target, user.username)]);
  const link = stored?.record;
  ctx.out.result(
    { username: user.username, sub: user.sub, email: user.email ?? null, cognitoEnabled: user.enabled, status: user.status ?? null, groups, link: link ?? null, access: access(link) },
    () => [
      `User ${user.username}`,
      ...fields([
        ['sub', user.sub],
        ['email', user.email],
        ['Cognito', `${user.enabled ? 'enabled' : 'DISABLED'}${user.status ? ` (${user.status})` : ''}`],
        ['groups', groups.join(', ') || '-'],
        ['link', link ? `${link.role}, fhirUser ${link.fhirUser ?? '-'}, patients ${link.patients.join(', ') || '-'}` : 'none'],
        ['access', access(link)],
      ]),
    ],
  );
}

interface ListedUser {
  readonly username: string;
  readonly sub: string;
  readonly email?: string;
  readonly enabled: boolean;
  readonly status?: string;
}

/** Every user of the pool (ListUsers, paged). */
export async function poolUsers(target: Target): Promise<ListedUser[]> {
  const users: ListedUser[] = [];
  let token: string | undefined;
  try {
    do {
      const out = await target.cognito.send(new ListUsersCommand({ UserPoolId: target.userPoolId, PaginationToken: token }));
      for (const u of out.Users ?? []) {
        const listed = listedUser(u);
        if (listed) users.push(listed);
      }
      token = out.PaginationToken;
    } while (token);
  } catch (err) {
    throw cognitoFailure(target, 'listing users', err);
  }
  return users.sort((a, b) => a.username.localeCompare(b.username));
}

function listedUser(u: UserType): ListedUser | undefined {
  const attr = (name: string) => u.Attributes?.find((a) => a.Name === name)?.Value;
  const sub = attr('sub');
  if (!u.Username || !sub) return undefined;
  return { username: u.Username, sub, email: attr('email'), enabled: u.Enabled !== false, status: u.UserStatus };
}
