/**
 * Provisioning a user pool through the AWS SDK v3, the same calls an operator script would make
 * against real Cognito: pool, `web` app client, role groups, users, machine clients.
 */
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  PasswordPolicyType,
} from '@aws-sdk/client-cognito-identity-provider';
import { passwordPolicyViolation } from '../../bin/cli/password-policy';

/** The Cognito groups that carry fhirgate roles (`cognito:groups`). */
export const COGNITO_GROUPS = ['patient', 'guardian', 'practitioner'] as const;
export type CognitoGroup = (typeof COGNITO_GROUPS)[number];

/** Cognito's default password policy, written out so the local pool states it. */
export const PASSWORD_POLICY = {
  MinimumLength: 8,
  RequireUppercase: true,
  RequireLowercase: true,
  RequireNumbers: true,
  RequireSymbols: true,
  TemporaryPasswordValidityDays: 7,
} as const satisfies PasswordPolicyType;

/** Name of the user-facing app client (no secret, USER_PASSWORD_AUTH + refresh). */
export const WEB_CLIENT_NAME = 'web';

export interface UserSpec {
  readonly username: string;
  readonly password: string;
  readonly group: CognitoGroup;
}

export interface MachineClientSpec {
  readonly name: string;
  /** OAuth scopes the client may request with client_credentials (e.g. `system/Patient.rs`). */
  readonly scopes: readonly string[];
}

export interface ProvisionedPool {
  readonly userPoolId: string;
  readonly webClientId: string;
  readonly users: readonly (UserSpec & { readonly sub: string })[];
  readonly machineClients: readonly (MachineClientSpec & { readonly clientId: string; readonly clientSecret: string })[];
}

/** Create the pool and everything in it; the caller validated the specs (validateSpecs). */
export async function provisionPool(
  cognito: CognitoIdentityProviderClient,
  specs: { readonly users: readonly UserSpec[]; readonly machineClients: readonly MachineClientSpec[] },
): Promise<ProvisionedPool> {
  const pool = await cognito.send(
    new CreateUserPoolCommand({
      PoolName: 'fhirgate-local',
      Policies: { PasswordPolicy: PASSWORD_POLICY },
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    }),
  );
  const userPoolId = required(pool.UserPool?.Id, 'CreateUserPool returned no pool id');

  const web = await cognito.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: WEB_CLIENT_NAME,
      GenerateSecret: false, // a browser or mobile app cannot keep a secret
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      // Cognito's defaults, stated: cognito-local would otherwise issue 24 h access tokens.
      AccessTokenValidity: 1,
      IdTokenValidity: 1,
      RefreshTokenValidity: 30,
      TokenValidityUnits: { AccessToken: 'hours', IdToken: 'hours', RefreshToken: 'days' },
      PreventUserExistenceErrors: 'ENABLED',
    }),
  );
  const webClientId = required(web.UserPoolClient?.ClientId, 'CreateUserPoolClient returned no client id');

  for (const group of COGNITO_GROUPS) {
    await cognito.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: group }));
  }

  const users: (UserSpec & { sub: string })[] = [];
  for (const user of specs.users) {
    const common = { UserPoolId: userPoolId, Username: user.username };
    await cognito.send(new AdminCreateUserCommand({ ...common, MessageAction: 'SUPPRESS' }));
    await cognito.send(new AdminSetUserPasswordCommand({ ...common, Password: user.password, Permanent: true }));
    await cognito.send(new AdminAddUserToGroupCommand({ ...common, GroupName: user.group }));
    const got = await cognito.send(new AdminGetUserCommand(common));
    const sub = required(got.UserAttributes?.find((a) => a.Name === 'sub')?.Value, `AdminGetUser returned no sub for ${user.username}`);
    users.push({ username: user.username, password: user.password, group: user.group, sub });
  }

  const machineClients: (MachineClientSpec & { clientId: string; clientSecret: string })[] = [];
  for (const spec of specs.machineClients) {
    const created = await cognito.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: spec.name,
        // cognito-local generates the secret itself (a short-uuid, ~25 base-36 characters; real
        // Cognito's are 51), stores it with the client and returns it here and from
        // DescribeUserPoolClient, which is where the token endpoint reads it back.
        GenerateSecret: true,
        AllowedOAuthFlows: ['client_credentials'],
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: [...spec.scopes],
        ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'], // the minimum Cognito accepts: no user sign-in
        AccessTokenValidity: 60,
        TokenValidityUnits: { AccessToken: 'minutes' },
      }),
    );
    const clientId = required(created.UserPoolClient?.ClientId, 'CreateUserPoolClient returned no client id');
    const clientSecret = required(created.UserPoolClient?.ClientSecret, `cognito-local generated no secret for ${spec.name}`);
    machineClients.push({ name: spec.name, scopes: [...spec.scopes], clientId, clientSecret });
  }

  return { userPoolId, webClientId, users, machineClients };
}

/** Check the specs before anything starts; mistakes here are programming errors (TypeError). */
export function validateSpecs(users: readonly UserSpec[], machineClients: readonly MachineClientSpec[]): void {
  const names = new Set<string>();
  for (const user of users) {
    // Cognito usernames: 1–128 characters of \p{L}\p{M}\p{S}\p{N}\p{P}; kept to a safe ASCII subset here.
    if (!/^[\w.@+-]{1,128}$/.test(user.username)) throw new TypeError(`invalid username ${JSON.stringify(user.username)}`);
    const key = user.username.toLowerCase();
    if (names.has(key)) throw new TypeError(`duplicate username ${user.username}`);
    names.add(key);
    if (!(COGNITO_GROUPS as readonly string[]).includes(user.group)) throw new TypeError(`unknown group ${JSON.stringify(user.group)}`);
    const weakness = passwordPolicyViolation(user.password, PASSWORD_POLICY);
    // cognito-local stores any password; real Cognito would refuse this one, so refuse it here.
    if (weakness) throw new TypeError(`password for ${user.username} violates the pool password policy: ${weakness}`);
  }
  const clientNames = new Set<string>([WEB_CLIENT_NAME]);
  for (const client of machineClients) {
    if (!/^[\w\s+=,.@-]{1,128}$/.test(client.name)) throw new TypeError(`invalid client name ${JSON.stringify(client.name)}`);
    if (clientNames.has(client.name)) throw new TypeError(`duplicate client name ${client.name}`);
    clientNames.add(client.name);
    if (client.scopes.length === 0) throw new TypeError(`machine client ${client.name} needs at least one scope`);
    for (const scope of client.scopes) {
      // RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
      if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new TypeError(`invalid scope ${JSON.stringify(scope)} for ${client.name}`);
    }
  }
}

/** Cognito's special characters for RequireSymbols (Cognito developer guide, password policy). */
function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}
