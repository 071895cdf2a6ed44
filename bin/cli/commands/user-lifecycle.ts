/**
 * `fhirgate users disable|enable|delete`: end (or restore) a user's access in Cognito and in the
 * links table together — all of it or none of it, like `users create`.
 *
 * Cognito alone cannot cut a user off: the authorizer verifies access tokens offline, so a token
 * issued before AdminDisableUser works until it expires. What the authorizer does read on every
 * (uncached) call is the link record, so the link is the switch: `disable` marks it
 * (`disabledAt`), `delete` removes it, and `activeLink` (functions/core/principal.ts) refuses both
 * for user tokens, on-behalf-of tokens and new exchanges alike. Cognito is changed too, so the user
 * cannot sign in again (AdminDisableUser) and their refresh tokens die (AdminUserGlobalSignOut).
 *
 * Order: the link first (the switch the authorizer reads), then Cognito; each reversible step is
 * registered for rollback.
 */
import {
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminUserGlobalSignOutCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Command } from 'commander';
import { call, cognitoFailure, PoolUser, resolveUser } from '../cognito';
import type { Context, Runner } from '../context';
import type { StoredLink } from '../link-table';
import { userOption } from '../options';
import { fields } from '../output';
import { Rollback } from '../rollback';
import { takesEffectNote, Target } from '../target';

interface UserOpts {
  readonly user: string;
}

/** Register disable, enable and delete under `users`. */
export function registerUserLifecycle(users: Command, runner: Runner): void {
  users
    .command('disable')
    .description("cut a user off: mark their link disabled (every token refused), disable them in Cognito (no sign-in), sign them out everywhere (refresh tokens die)")
    .addOption(userOption())
    .addHelpText('after', '\nEnds every path (reads, searches, paging links, on-behalf-of tokens, new exchanges) within the revocation window it prints.\nUndo with users enable.')
    .action((opts: UserOpts, cmd: Command) => runner.run(cmd, (ctx) => disableUser(ctx, opts.user)));
  users
    .command('enable')
    .description('restore a disabled user: enable them in Cognito and clear the disabled mark on their link (they sign in again)')
    .addOption(userOption())
    .action((opts: UserOpts, cmd: Command) => runner.run(cmd, (ctx) => enableUser(ctx, opts.user)));
  users
    .command('delete')
    .description('delete a user: their link record, their sessions (refresh tokens) and the Cognito user; FHIR resources stay')
    .addOption(userOption())
    .addHelpText('after', '\nA user created again under the same username gets a new sub and none of the old links.')
    .action((opts: UserOpts, cmd: Command) => runner.run(cmd, (ctx) => deleteUser(ctx, opts.user)));
}

async function disableUser(ctx: Context, name: string): Promise<void> {
  const { target } = ctx;
  const user = await resolveUser(target, name);
  const link = await ctx.links.get(user.sub);
  const linkDisabled = link?.record.disabledAt !== undefined;
  if (linkDisabled && !user.enabled) {
    ctx.out.result({ username: user.username, sub: user.sub, changed: false, disabledAt: link!.record.disabledAt }, () => [`${user.username} is already disabled (since ${link!.record.disabledAt}); nothing changed`]);
    return;
  }
  const at = new Date().toISOString();
  const rollback = new Rollback();
  let signedOut: boolean;
  try {
    if (link && !linkDisabled) {
      await ctx.links.setDisabled(link, at);
      rollback.add(`the disabled mark on the link of ${user.username}`, () => ctx.links.setDisabled(withMark(link, at), undefined));
    }
    // Sign out while the user is still enabled: Cognito may refuse to sign out a disabled user.
    // AWS: "no longer accepts a signed-out user's refresh tokens"
    // (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUserGlobalSignOut.html).
    // Nothing undoes it, but a rollback after it leaves only a user who must sign in again.
    signedOut = await signOut(ctx, user);
    if (user.enabled) {
      await cognito(target, `disabling ${user.username} in Cognito`, new AdminDisableUserCommand(pool(target, user)));
      rollback.add(`the Cognito disable of ${user.username}`, () => cognito(target, `enabling ${user.username}`, new AdminEnableUserCommand(pool(target, user))));
    }
  } catch (err) {
    throw await rollback.fail(err);
  }
  if (!link) ctx.out.warn(`${user.username} has no link record: their tokens were refused already (ERR_NO_LINK)`);
  const disabledAt = linkDisabled ? link!.record.disabledAt! : at;
  const note = takesEffectNote(target);
  ctx.out.result({ username: user.username, sub: user.sub, changed: true, disabledAt: link ? disabledAt : null, cognitoEnabled: false, signedOut, note }, () => [
    `Disabled ${user.username}`,
    ...fields([
      ['sub', user.sub],
      ['link', link ? `marked disabled (${disabledAt}): every token of theirs is refused with ERR_USER_DISABLED` : 'none'],
      ['Cognito', `disabled (no sign-in)${signedOut ? ', signed out everywhere (refresh tokens revoked)' : ''}`],
    ]),
    note,
  ]);
}

async function enableUser(ctx: Context, name: string): Promise<void> {
  const { target } = ctx;
  const user = await resolveUser(target, name);
  const link = await ctx.links.get(user.sub);
  const linkDisabled = link?.record.disabledAt !== undefined;
  if (!linkDisabled && user.enabled) {
    ctx.out.result({ username: user.username, sub: user.sub, changed: false }, () => [`${user.username} is not disabled; nothing changed`]);
    return;
  }
  const rollback = new Rollback();
  try {
    if (!user.enabled) {
      await cognito(target, `enabling ${user.username} in Cognito`, new AdminEnableUserCommand(pool(target, user)));
      rollback.add(`the Cognito enable of ${user.username}`, () => cognito(target, `disabling ${user.username}`, new AdminDisableUserCommand(pool(target, user))));
    }
    if (link && linkDisabled) await ctx.links.setDisabled(link, undefined);
  } catch (err) {
    throw await rollback.fail(err);
  }
  if (!link) ctx.out.warn(`${user.username} has no link record: their tokens stay refused (ERR_NO_LINK) until one is created with links put`);
  const note = takesEffectNote(target);
  ctx.out.result({ username: user.username, sub: user.sub, changed: true, cognitoEnabled: true, note }, () => [
    `Enabled ${user.username}; they sign in again (their earlier sessions stay signed out)`,
    note,
  ]);
}

async function deleteUser(ctx: Context, name: string): Promise<void> {
  const { target } = ctx;
  const user = await resolveUser(target, name);
  const link = await ctx.links.get(user.sub);
  const rollback = new Rollback();
  try {
    if (link) {
      await ctx.links.delete(user.sub);
      rollback.add(`the link record of ${user.username}`, () => ctx.links.restore(link));
    }
    // A disabled user is signed out already (users disable), and Cognito may refuse to sign out a
    // disabled user; deleting the user ends their refresh tokens either way.
    if (user.enabled) await cognito(target, `signing ${user.username} out everywhere`, new AdminUserGlobalSignOutCommand(pool(target, user)));
    await cognito(target, `deleting ${user.username} from Cognito`, new AdminDeleteUserCommand(pool(target, user)));
  } catch (err) {
    throw await rollback.fail(err);
  }
  const note = takesEffectNote(target);
  ctx.out.result({ username: user.username, sub: user.sub, deletedLink: link ? true : false, note }, () => [
    `Deleted ${user.username} (sub ${user.sub}) and ${link ? 'their link record' : 'no link record (there was none)'}; FHIR resources are kept`,
    note,
  ]);
}

/**
 * AdminUserGlobalSignOut. A user disabled earlier outside the CLI may be refused it by Cognito:
 * then warn (their refresh tokens are refused while they stay disabled anyway) instead of failing.
 */
async function signOut(ctx: Context, user: PoolUser): Promise<boolean> {
  try {
    await ctx.target.cognito.send(new AdminUserGlobalSignOutCommand(pool(ctx.target, user)));
    return true;
  } catch (err) {
    if (!user.enabled && err instanceof Error && err.name === 'NotAuthorizedException') {
      ctx.out.warn(`Cognito did not sign out ${user.username} (already disabled: ${err.message}); their sessions end when they are deleted, or sign them out after users enable`);
      return false;
    }
    throw cognitoFailure(ctx.target, `signing ${user.username} out everywhere`, err);
  }
}

function pool(target: Target, user: PoolUser): { UserPoolId: string; Username: string } {
  return { UserPoolId: target.userPoolId, Username: user.username };
}

/** The record as it is after setDisabled(…, at): what a rollback's conditional write expects to find. */
function withMark(link: StoredLink, at: string): StoredLink {
  return { record: { ...link.record, disabledAt: at }, item: { ...link.item, disabledAt: { S: at } } };
}

type LifecycleCommand = AdminDisableUserCommand | AdminEnableUserCommand | AdminUserGlobalSignOutCommand | AdminDeleteUserCommand;

async function cognito(target: Target, doing: string, command: LifecycleCommand): Promise<void> {
  // Each of these answers an empty body; only success or failure matters.
  await call(target, doing, () => target.cognito.send(command as AdminDisableUserCommand));
}
