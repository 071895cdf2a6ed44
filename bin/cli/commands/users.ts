/**
 * `fhirgate users create`: the Cognito user, its role group and its link record in one step —
 * all of it or none of it. `list`/`get` (user-info.ts) and `disable`/`enable`/`delete`
 * (user-lifecycle.ts) hang off the same command.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { Command, Option } from 'commander';
import { parseFhirUser } from '../../../functions/core/ids';
import { DEFAULT_SETTINGS, Role } from '../../../functions/core/settings';
import { passwordPolicyViolation, readPasswordPolicy } from '../password-policy';
import { cognitoFailure, setRoleGroup } from '../cognito';
import type { Context, Runner } from '../context';
import { CliError, UsageError } from '../errors';
import { openFhirStore } from '../fhir-store';
import { checkLink } from '../link-check';
import type { LinkValues } from '../link-table';
import { emailOption, fhirUserOption, patientOption, roleOption } from '../options';
import { fields } from '../output';
import { Rollback } from '../rollback';
import { takesEffectNote, uncheckedPatientsWarning } from '../target';
import { registerUserInfo } from './user-info';
import { registerUserLifecycle } from './user-lifecycle';

interface CreateOptions {
  readonly email: string;
  readonly username?: string;
  readonly role: Role;
  readonly patient?: string[];
  readonly fhirUser?: string;
  readonly password?: string;
  readonly createPatient?: boolean;
  readonly name?: string;
}

export function registerUsers(program: Command, runner: Runner): void {
  const users = program.command('users').description('Cognito users and their links, created, disabled and deleted together');
  users
    .command('create')
    .description('create a Cognito user in the role group, and the link record saying which patients they may act for')
    .addOption(emailOption().makeOptionMandatory())
    .addOption(roleOption('the user\'s role').makeOptionMandatory())
    .addOption(patientOption('a patient the user may act for; must exist in the FHIR store'))
    .addOption(fhirUserOption('the FHIR resource that is the user (SMART fhirUser); default for a patient: Patient/<their --patient>'))
    .option('--username <name>', 'Cognito username (default: the email address)')
    .option('--password <password>', 'local stack only: a permanent password, so the user can sign in at once (default: a generated one)')
    .option('--create-patient', 'create the Patient resource in the FHIR store and link it (patient and guardian roles)')
    .addOption(new Option('--name <text>', 'name of the Patient that --create-patient creates'))
    .addHelpText(
      'after',
      '\nIn AWS Cognito emails an invitation with a temporary password. Patient ids are checked against the FHIR store\n' +
        '(the local stack\'s, or --fhir-url); in AWS without --fhir-url they are not checked. If any step fails, every\n' +
        'earlier step is undone.\n\nExample:\n  fhirgate --local users create --email dana@example.com --role guardian --patient pat-carol',
    )
    .action(async (opts: CreateOptions, cmd: Command) => {
      const draft = plan(opts);
      // The authorizer's rules, before any target is opened (again below with the target's settings).
      checkLink(values(draft, 'pending', NEW_PATIENT), DEFAULT_SETTINGS);
      await runner.run(cmd, (ctx) => createUser(ctx, opts, draft));
    });
  registerUserInfo(users, runner);
  registerUserLifecycle(users, runner);
}

/** The link to write, from the options alone (before anything is read or written). */
interface Plan {
  readonly role: Role;
  readonly fhirUser?: string;
  readonly patients: readonly string[];
  /** The patient id that --create-patient will create stands in for these values. */
  readonly createPatient: boolean;
}

const NEW_PATIENT = 'new-patient';

function plan(opts: CreateOptions): Plan {
  const patients = [...new Set(opts.patient ?? [])];
  if (opts.createPatient && patients.length > 0) throw new UsageError('--create-patient creates the patient: do not also pass --patient');
  if (opts.createPatient && opts.role === 'practitioner') throw new UsageError('--create-patient is for the patient and guardian roles');
  if (opts.name !== undefined && !opts.createPatient) throw new UsageError('--name names the Patient that --create-patient creates; pass both or neither');
  if (opts.role !== 'patient') {
    return { role: opts.role, fhirUser: opts.fhirUser, patients: opts.createPatient ? [NEW_PATIENT] : patients, createPatient: Boolean(opts.createPatient) };
  }
  // A patient is their own compartment: fhirUser Patient/<id> and that one patient.
  const self = opts.fhirUser ? parseFhirUser(opts.fhirUser) : undefined;
  if (opts.createPatient) {
    if (opts.fhirUser) throw new UsageError('--create-patient sets the fhirUser of a patient user: do not also pass --fhir-user');
    return { role: 'patient', fhirUser: `Patient/${NEW_PATIENT}`, patients: [NEW_PATIENT], createPatient: true };
  }
  if (!self && patients.length === 0) throw new UsageError('a patient user needs --patient <id>, --fhir-user Patient/<id> or --create-patient');
  const fhirUser = opts.fhirUser ?? `Patient/${patients[0]}`;
  const own = self?.resourceType === 'Patient' && patients.length === 0 ? [self.id] : patients;
  return { role: 'patient', fhirUser, patients: own, createPatient: false };
}

function values(p: Plan, sub: string, newPatient: string): LinkValues {
  const swap = (id: string) => (p.createPatient && id === NEW_PATIENT ? newPatient : id);
  const fhirUser = p.createPatient && p.fhirUser === `Patient/${NEW_PATIENT}` ? `Patient/${newPatient}` : p.fhirUser;
  return { sub, role: p.role, fhirUser, patients: p.patients.map(swap) };
}

async function createUser(ctx: Context, opts: CreateOptions, p: Plan): Promise<void> {
  const { target, out } = ctx;
  const local = target.kind === 'local';
  if (!local && opts.password !== undefined) throw new UsageError('--password is for the local stack only; in AWS Cognito emails a temporary password');
  if (opts.password !== undefined) {
    // The pool answers for its own policy; the CLI assumes none.
    const policy = await readPasswordPolicy(target.cognito, target.userPoolId).catch((err: unknown) => {
      throw cognitoFailure(target, 'reading the password policy', err);
    });
    const weakness = passwordPolicyViolation(opts.password, policy);
    if (weakness) throw new UsageError(`--password violates the user pool password policy: ${weakness}`);
  }
  if (p.createPatient && !target.fhirStoreUrl) throw new UsageError('--create-patient needs the FHIR store: pass --fhir-url <FHIR base URL>');
  // The authorizer's own rules, on the record as it will be (placeholders for what is not created yet).
  checkLink(values(p, 'pending', NEW_PATIENT), target.authorizer.settings);

  const store = target.fhirStoreUrl ? openFhirStore(target.fhirStoreUrl) : undefined;
  const existing = p.createPatient ? [] : p.patients;
  if (existing.length > 0) {
    if (store) await store.assertPatientsExist(existing);
    else out.warn(uncheckedPatientsWarning(target));
  }

  const pool = { UserPoolId: target.userPoolId };
  const requested = opts.username ?? opts.email;
  let username: string;
  try {
    const created = await target.cognito.send(
      new AdminCreateUserCommand({
        ...pool,
        Username: requested,
        UserAttributes: [
          { Name: 'email', Value: opts.email },
          { Name: 'email_verified', Value: 'true' },
        ],
        // Local: nobody to email; the password is set below. AWS: Cognito's invitation email (default MessageAction).
        ...(local ? { MessageAction: 'SUPPRESS' as const } : { DesiredDeliveryMediums: ['EMAIL' as const] }),
      }),
    );
    username = created.User?.Username ?? requested;
  } catch (err) {
    if (err instanceof Error && err.name === 'UsernameExistsException') throw new CliError(`user ${requested} already exists (change their link with links put)`);
    throw cognitoFailure(target, 'creating the Cognito user', err);
  }

  const rollback = new Rollback();
  rollback.add(`Cognito user ${username}`, async () => void (await target.cognito.send(new AdminDeleteUserCommand({ ...pool, Username: username }))));
  try {
    const got = await target.cognito.send(new AdminGetUserCommand({ ...pool, Username: username })).catch((err: unknown) => {
      throw cognitoFailure(target, 'reading the new user', err);
    });
    const sub = got.UserAttributes?.find((a) => a.Name === 'sub')?.Value;
    if (!sub) throw new CliError('Cognito returned no sub for the new user');
    let password: string | undefined;
    if (local) {
      password = opts.password ?? generatedPassword();
      await target.cognito.send(new AdminSetUserPasswordCommand({ ...pool, Username: username, Password: password, Permanent: true })).catch((err: unknown) => {
        throw cognitoFailure(target, 'setting the password', err);
      });
    }
    // The rollback of the user removes its groups too; setRoleGroup's own undo steps are harmless.
    await setRoleGroup(target, username, p.role, rollback);
    let createdPatient: string | undefined;
    if (p.createPatient) {
      createdPatient = await store!.createPatient({ name: opts.name, email: opts.email });
      const id = createdPatient;
      rollback.add(`Patient/${id}`, () => store!.deletePatient(id));
    }
    const link = values(p, sub, createdPatient ?? NEW_PATIENT);
    const check = checkLink(link, target.authorizer.settings);
    await ctx.links.create(link);

    if (check.warning) out.warn(check.warning);
    const note = takesEffectNote(target);
    const group = target.authorizer.settings.roles[p.role].group;
    out.result(
      { username, sub, email: opts.email, role: p.role, group, fhirUser: link.fhirUser ?? null, patients: link.patients, createdPatient: createdPatient ?? null, grants: check.grants ?? null, password: password ?? null, note },
      () => [
        `Created user ${username}`,
        ...fields([
          ['sub', sub],
          ['email', opts.email],
          ['role', `${p.role} (Cognito group ${group})`],
          ['fhirUser', link.fhirUser ?? '-'],
          ['patients', link.patients.join(', ') || '-'],
          ['created', createdPatient ? `Patient/${createdPatient}` : undefined],
          ['grants', check.grants ? `${check.grants.scopes.join(' ')} for ${check.grants.patients.join(', ') || 'no patient'}` : 'nothing (see warning)'],
          ['password', password ? `${password}  (local only; sign in: fhirgate --local token --user ${username} --password '…')` : `Cognito emailed a temporary password to ${opts.email}`],
        ]),
        note,
      ],
    );
  } catch (err) {
    throw await rollback.fail(err);
  }
}

/** A password that meets the pool policy (upper, lower, digit, symbol, ≥ 8). Local stack only. */
function generatedPassword(): string {
  return `Fg-${randomBytes(12).toString('base64url')}7a!`;
}
