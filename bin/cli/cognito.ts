/**
 * The Cognito user pool calls the CLI makes: find a user (by username, alias or `sub`, as
 * AdminGetUser accepts them), their groups, and keep their role group in step with the link.
 */
import {
  AdminAddUserToGroupCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { ROLES, Role } from '../../functions/core/settings';
import { CliError, failure, isUnreachable } from './errors';
import type { Rollback } from './rollback';
import type { Target } from './target';

export interface PoolUser {
  /** Cognito `Username` (for pools that sign in by email, Cognito's own id). */
  readonly username: string;
  readonly sub: string;
  readonly email?: string;
  /** False once AdminDisableUser ran: Cognito refuses their sign-in and refresh. */
  readonly enabled: boolean;
  /** Cognito `UserStatus` (CONFIRMED, FORCE_CHANGE_PASSWORD, …). */
  readonly status?: string;
}

/** Look a user up; CliError when there is no such user. */
export async function resolveUser(target: Target, user: string): Promise<PoolUser> {
  const found = await findUser(target, user);
  if (!found) throw new CliError(`user ${user} not found in user pool ${target.userPoolId}`);
  return found;
}

/** Look a user up; undefined when there is no such user. */
export async function findUser(target: Target, user: string): Promise<PoolUser | undefined> {
  try {
    const out = await target.cognito.send(new AdminGetUserCommand({ UserPoolId: target.userPoolId, Username: user }));
    const attr = (name: string) => out.UserAttributes?.find((a) => a.Name === name)?.Value;
    const sub = attr('sub');
    if (!out.Username || !sub) throw new CliError(`Cognito returned no sub for user ${user}`);
    return { username: out.Username, sub, email: attr('email'), enabled: out.Enabled !== false, status: out.UserStatus };
  } catch (err) {
    if (err instanceof Error && err.name === 'UserNotFoundException') return undefined;
    throw cognitoFailure(target, `looking up user ${user}`, err);
  }
}

/** The Cognito groups of fhirgate roles the user belongs to (`settings.roles[*].group`). */
export async function roleGroupsOf(target: Target, username: string): Promise<string[]> {
  const roleGroups = new Set(ROLES.map((r) => target.authorizer.settings.roles[r].group));
  const groups: string[] = [];
  let next: string | undefined;
  try {
    do {
      const out = await target.cognito.send(new AdminListGroupsForUserCommand({ UserPoolId: target.userPoolId, Username: username, NextToken: next }));
      for (const g of out.Groups ?? []) if (g.GroupName && roleGroups.has(g.GroupName)) groups.push(g.GroupName);
      next = out.NextToken;
    } while (next);
  } catch (err) {
    throw cognitoFailure(target, `listing the groups of ${username}`, err);
  }
  return groups;
}

/**
 * Make the user's role groups exactly the role's group (the authorizer refuses a token whose
 * `cognito:groups` does not confirm the link's role), registering undo steps. Returns what changed.
 */
export async function setRoleGroup(target: Target, username: string, role: Role, rollback: Rollback): Promise<{ added?: string; removed: string[] }> {
  const group = target.authorizer.settings.roles[role].group;
  const current = await roleGroupsOf(target, username);
  const common = { UserPoolId: target.userPoolId, Username: username };
  let added: string | undefined;
  if (!current.includes(group)) {
    await call(target, `adding ${username} to group ${group}`, () => target.cognito.send(new AdminAddUserToGroupCommand({ ...common, GroupName: group })));
    rollback.add(`group ${group} of ${username}`, async () => void (await target.cognito.send(new AdminRemoveUserFromGroupCommand({ ...common, GroupName: group }))));
    added = group;
  }
  const removed = current.filter((g) => g !== group);
  for (const other of removed) {
    await call(target, `removing ${username} from group ${other}`, () => target.cognito.send(new AdminRemoveUserFromGroupCommand({ ...common, GroupName: other })));
    rollback.add(`removal of ${username} from group ${other}`, async () => void (await target.cognito.send(new AdminAddUserToGroupCommand({ ...common, GroupName: other }))));
  }
  return { added, removed };
}

/** One Cognito call; a failure becomes a CliError saying what was being done. */
export async function call<T>(target: Target, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw cognitoFailure(target, doing, err);
  }
}

/** One line for a Cognito failure; a stopped local stack is named as such. */
export function cognitoFailure(target: Target, doing: string, err: unknown): CliError {
  if (isUnreachable(err)) {
    const hint = target.kind === 'local' ? ' (is the local stack running? npm start)' : '';
    return new CliError(`${doing} failed: cannot reach Cognito${hint}`);
  }
  return failure(doing, err);
}
