/**
 * `fhirgate links …`: show and change who may act for which patient — a user's role, `fhirUser`
 * and patients in the links table, checked with the authorizer's rules before anything is written.
 */
import { Command } from 'commander';
import { parseFhirUser } from '../../../functions/core/ids';
import { isRole, Role } from '../../../functions/core/settings';
import { findUser, PoolUser, resolveUser, roleGroupsOf, setRoleGroup } from '../cognito';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { openFhirStore } from '../fhir-store';
import { checkLink, LinkCheck } from '../link-check';
import { LinkValues, ReadLink, validRecord } from '../link-table';
import { fhirUserOption, patientOption, roleOption, userOption } from '../options';
import { fields, table } from '../output';
import { Rollback } from '../rollback';
import { poolUsers } from './user-info';
import { takesEffectNote, Target, uncheckedPatientsWarning } from '../target';

interface UserOpts {
  readonly user: string;
}
interface PutOpts extends UserOpts {
  readonly role?: Role;
  /** A reference, or false for `--no-fhir-user`. */
  readonly fhirUser?: string | false;
  readonly patient?: string[];
  readonly patients?: false;
}
interface PatientOpts extends UserOpts {
  readonly patient?: string[];
}
interface ListOpts {
  readonly patient?: string[];
  readonly role?: Role;
  readonly orphans?: boolean;
}

export function registerLinks(program: Command, runner: Runner): void {
  const links = program
    .command('links')
    .description("who may act for which patient: a user's role, fhirUser and patients (the authorizer's links table)")
    .addHelpText('after', `\n--user takes a Cognito username or sub. Every change is checked with the authorizer's rules first.`);

  links
    .command('get')
    .description("show a user's link record and what the authorizer grants them")
    .addOption(userOption())
    .action((opts: UserOpts, cmd: Command) => runner.run(cmd, (ctx) => getLink(ctx, opts)));

  links
    .command('put')
    .description("create or replace a user's link record (options not given keep their current value)")
    .addOption(userOption())
    .addOption(roleOption('the role (default: the current one); the user is moved to its Cognito group'))
    .addOption(fhirUserOption('the FHIR resource that is the user (SMART fhirUser)'))
    .option('--no-fhir-user', 'remove the fhirUser')
    .addOption(patientOption('a patient the user may act for; replaces the list; must exist in the FHIR store'))
    .option('--no-patients', 'link no patients at all')
    .action((opts: PutOpts, cmd: Command) => {
      if (opts.patients === false && opts.patient) throw new UsageError('--no-patients and --patient contradict each other');
      return runner.run(cmd, (ctx) => putLink(ctx, opts));
    });

  links
    .command('delete')
    .description("delete a user's link record: their tokens are refused (ERR_NO_LINK); --user may be the sub of an orphaned record")
    .addOption(userOption())
    .action((opts: UserOpts, cmd: Command) => runner.run(cmd, (ctx) => deleteLink(ctx, opts)));

  links
    .command('list')
    .description('list link records')
    .addOption(patientOption('only users who may act for this patient'))
    .addOption(roleOption('only users with this role'))
    .option('--orphans', 'only records whose Cognito user no longer exists (remove them with links delete --user <sub>)')
    .action((opts: ListOpts, cmd: Command) => runner.run(cmd, (ctx) => listLinks(ctx, opts)));

  links
    .command('add-patient')
    .description("add patients to a guardian's dependents or a practitioner's panel")
    .addOption(userOption())
    .addOption(patientOption('the patient to add; must exist in the FHIR store').makeOptionMandatory())
    .action((opts: PatientOpts, cmd: Command) => runner.run(cmd, (ctx) => changePatients(ctx, opts, 'add')));

  links
    .command('remove-patient')
    .description("remove patients from a guardian's dependents or a practitioner's panel")
    .addOption(userOption())
    .addOption(patientOption('the patient to remove').makeOptionMandatory())
    .action((opts: PatientOpts, cmd: Command) => runner.run(cmd, (ctx) => changePatients(ctx, opts, 'remove')));
}

async function getLink(ctx: Context, opts: UserOpts): Promise<void> {
  const user = await resolveUser(ctx.target, opts.user);
  const stored = await ctx.links.get(user.sub);
  if (!stored) throw new CliError(`user ${user.username} has no link record (their tokens are refused with ERR_NO_LINK)`);
  const groups = await roleGroupsOf(ctx.target, user.username);
  const check = stored.record.invalid ? undefined : checkLink(stored.record, ctx.target.authorizer.settings);
  const group = isRole(stored.record.role) ? ctx.target.authorizer.settings.roles[stored.record.role].group : undefined;
  if (group && !groups.includes(group)) ctx.out.warn(`${user.username} is not in Cognito group ${group}: the authorizer refuses their tokens (ERR_ROLE_MISMATCH)`);
  if (check?.warning) ctx.out.warn(check.warning);
  ctx.out.result({ username: user.username, ...json(stored.record, check), groups }, () => [
    `Link of ${user.username}`,
    ...describe(stored.record, { check, groups }),
  ]);
}

async function putLink(ctx: Context, opts: PutOpts): Promise<void> {
  const { target } = ctx;
  const user = await resolveUser(target, opts.user);
  const previous = await ctx.links.get(user.sub);
  const before = previous?.record;
  const role = opts.role ?? (before && isRole(before.role) ? before.role : await onlyRoleOf(target, user));
  let fhirUser = opts.fhirUser === false ? undefined : opts.fhirUser ?? before?.fhirUser;
  let patients = opts.patients === false ? [] : opts.patient ? [...new Set(opts.patient)] : [...(before?.patients ?? [])];
  if (role === 'patient') {
    // As `users create`: a patient's fhirUser and patient name the same Patient.
    const self = fhirUser ? parseFhirUser(fhirUser) : undefined;
    if (!fhirUser && patients.length === 1) fhirUser = `Patient/${patients[0]}`;
    if (self?.resourceType === 'Patient' && patients.length === 0 && opts.patients !== false) patients = [self.id];
  }
  const next: LinkValues = { sub: user.sub, role, fhirUser, patients };
  const check = checkLink(next, target.authorizer.settings);
  // Every patient given, and any the record gains (a patient's own, from --fhir-user), must exist.
  await assertPatientsExist(ctx, patients.filter((p) => opts.patient?.includes(p) || !before?.patients.includes(p)));
  const rollback = new Rollback();
  try {
    const moved = await setRoleGroup(target, user.username, role, rollback);
    await ctx.links.replace(next, previous);
    changed(ctx, user, check, before, moved.added ? `moved to Cognito group ${moved.added}` : undefined);
  } catch (err) {
    throw await rollback.fail(err);
  }
}

async function deleteLink(ctx: Context, opts: UserOpts): Promise<void> {
  // An orphan (its Cognito user is gone; see links list --orphans) is deleted by its sub.
  const user = await findUser(ctx.target, opts.user);
  const name = user?.username ?? opts.user;
  const deleted = await ctx.links.delete(user?.sub ?? opts.user);
  if (!deleted) throw new CliError(user ? `user ${name} has no link record` : `user ${name} not found in user pool ${ctx.target.userPoolId}, and no link record has that sub`);
  const note = takesEffectNote(ctx.target);
  ctx.out.result({ username: user?.username ?? null, deleted: json(deleted), note }, () => [
    `Deleted the link of ${user ? name : `sub ${name} (no Cognito user)`}; ${user ? 'their' : 'its'} tokens are refused (ERR_NO_LINK) from now on`,
    ...describe(deleted),
    note,
  ]);
}

async function listLinks(ctx: Context, opts: ListOpts): Promise<void> {
  const all = await ctx.links.list();
  const matching = all.filter((r) => (!opts.role || r.role === opts.role) && (opts.patient ?? []).every((p) => r.patients.includes(p) || (r.role === 'patient' && r.fhirUser === `Patient/${p}`)));
  const names = matching.length > 0 ? await usernames(ctx.target) : new Map<string, string>();
  // An orphan: its sub names no user in the pool (deleted outside `users delete`). A user created
  // again under the same username gets a new sub, so an orphan grants nobody anything; it is clutter.
  const shown = opts.orphans ? matching.filter((r) => !names.has(r.sub)) : matching;
  ctx.out.result(
    shown.map((r) => ({ username: names.get(r.sub) ?? null, ...json(r) })),
    () =>
      shown.length === 0
        ? [opts.orphans ? 'No orphaned link records.' : 'No link records match.']
        : table(
            ['USERNAME', 'SUB', 'ROLE', 'FHIRUSER', 'PATIENTS'],
            shown.map((r) => [
              names.get(r.sub) ?? '(no Cognito user)',
              r.sub,
              r.role,
              r.fhirUser ?? '-',
              `${r.patients.join(',') || '-'}${r.disabledAt ? `  DISABLED since ${r.disabledAt}` : ''}${r.invalid ? `  INVALID: ${r.invalid}` : ''}`,
            ]),
          ),
  );
}

async function changePatients(ctx: Context, opts: PatientOpts, change: 'add' | 'remove'): Promise<void> {
  const user = await resolveUser(ctx.target, opts.user);
  const previous = await ctx.links.get(user.sub);
  if (!previous) throw new CliError(`user ${user.username} has no link record (create one with links put)`);
  const before = validRecord(previous.record, user.username);
  const given = [...new Set(opts.patient ?? [])];
  let patients: string[];
  if (change === 'add') {
    const added = given.filter((p) => !before.patients.includes(p));
    if (added.length === 0) {
      ctx.out.result({ username: user.username, changed: false, ...json(before) }, () => [`${user.username} is already linked to ${given.join(', ')}; nothing changed`]);
      return;
    }
    await assertPatientsExist(ctx, added);
    patients = [...before.patients, ...added];
  } else {
    const missing = given.filter((p) => !before.patients.includes(p));
    if (missing.length > 0) throw new CliError(`user ${user.username} is not linked to patient ${missing.join(', ')}`);
    patients = before.patients.filter((p) => !given.includes(p));
  }
  const next: LinkValues = { sub: user.sub, role: before.role, fhirUser: before.fhirUser, patients };
  const check = checkLink(next, ctx.target.authorizer.settings);
  const kept = given.filter((p) => change === 'remove' && check.grants?.patients.includes(p));
  if (kept.length > 0) {
    throw new UsageError(`a patient user always holds their own record (fhirUser ${before.fhirUser}); to end it, delete the link or change --fhir-user with links put`);
  }
  await ctx.links.replace(next, previous);
  changed(ctx, user, check, before);
}

/** Check that patients exist in the FHIR store (warn when the target has none to check against). */
async function assertPatientsExist(ctx: Context, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  if (ctx.target.fhirStoreUrl) await openFhirStore(ctx.target.fhirStoreUrl).assertPatientsExist(ids);
  else ctx.out.warn(uncheckedPatientsWarning(ctx.target));
}

/** With no link record and no --role: the role the user's Cognito group says, if exactly one. */
async function onlyRoleOf(target: Target, user: PoolUser): Promise<Role> {
  const groups = await roleGroupsOf(target, user.username);
  const settings = target.authorizer.settings;
  const roles = (Object.keys(settings.roles) as Role[]).filter((r) => groups.includes(settings.roles[r].group));
  if (roles.length !== 1) throw new UsageError(`${user.username} has no link record: pass --role`);
  return roles[0]!;
}

function changed(ctx: Context, user: PoolUser, check: LinkCheck, before: ReadLink | undefined, extra?: string): void {
  if (check.warning) ctx.out.warn(check.warning);
  const note = takesEffectNote(ctx.target);
  ctx.out.result({ username: user.username, changed: true, ...json(check.record, check), previous: before ? json(before) : null, note }, () => [
    `${before ? 'Updated' : 'Created'} the link of ${user.username}${extra ? ` (${extra})` : ''}`,
    ...describe(check.record, { check, was: before }),
    note,
  ]);
}

function json(r: ReadLink, check?: LinkCheck): Record<string, unknown> {
  return {
    sub: r.sub,
    role: r.role,
    fhirUser: r.fhirUser ?? null,
    patients: r.patients,
    disabledAt: r.disabledAt ?? null,
    ...(r.invalid ? { invalid: r.invalid } : {}),
    ...(check ? { grants: check.grants ?? null } : {}),
  };
}

function describe(r: ReadLink, more: { check?: LinkCheck; groups?: readonly string[]; was?: ReadLink } = {}): string[] {
  const { check, groups, was } = more;
  return fields([
    ['sub', r.sub],
    ['role', r.role],
    ['fhirUser', r.fhirUser ?? '-'],
    ['patients', r.patients.join(', ') || '-'],
    ['INVALID', r.invalid],
    ['DISABLED', r.disabledAt ? `since ${r.disabledAt}: every token of this user is refused (ERR_USER_DISABLED); fhirgate users enable --user … ends it` : undefined],
    ['grants', check ? (check.grants ? `${check.grants.scopes.join(' ')} for ${check.grants.patients.join(', ') || 'no patient'}` : 'nothing (see warning)') : undefined],
    ['groups', groups ? groups.join(', ') || '-' : undefined],
    ['was', was ? `${was.role}, fhirUser ${was.fhirUser ?? '-'}, patients ${was.patients.join(', ') || '-'}` : undefined],
  ]);
}

/** sub → username for the whole pool. */
async function usernames(target: Target): Promise<Map<string, string>> {
  return new Map((await poolUsers(target)).map((u) => [u.sub, u.username]));
}
