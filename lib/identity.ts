/**
 * Amazon Cognito for fhirgate: the user pool (patients, guardians, practitioners), one group per
 * role, resource servers whose custom scopes read as SMART scopes, a managed-login domain and the
 * app clients.
 *
 * SMART scopes as Cognito custom scopes: Cognito names a custom scope `<resource server>/<scope>`,
 * and SMART scopes are `<context>/<type>.<permissions>`. So the resource servers are named after
 * the SMART contexts — `patient`, `user`, `system` and `launch` — and their scopes after the rest:
 * `patient/*.rs` is scope `*.rs` of resource server `patient`. Cognito allows `*` and `.` in scope
 * names (not `/`), so every SMART 2 scope fhirgate grants can be requested as is.
 * The delegation scope (`fhirgate/delegate`, RFC 8693 actor permission) is scope `delegate` of
 * resource server `fhirgate`.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { AuthzSettings } from '../functions/core/settings';
import { ROLES } from '../functions/core/settings';
import { DEFAULT_DELEGATION_SCOPE } from '../functions/core/token-exchange';


/** Access (and ID) token lifetime of every app client: minutes, not Cognito's default hour (docs/revocation.md). */
export const USER_AND_MACHINE_TOKEN_VALIDITY = Duration.minutes(15);

/** Resource servers Cognito needs so that SMART scopes can be issued verbatim. */
export const SMART_RESOURCE_SERVERS = ['patient', 'user', 'system', 'launch'] as const;

/** The RFC 8693 delegation scope a machine client needs to exchange user tokens. */
export const DELEGATION_SCOPE = DEFAULT_DELEGATION_SCOPE;

/** Scopes every pool offers besides those the settings name (SMART 2 read/search and full access). */
const BASELINE_SCOPES = ['patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs', 'system/*.cruds', 'launch/patient'];

/** Cognito's custom scope-name alphabet (printable ASCII except space, `"`, `/` and `\`). */
const SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+$/;

/** A confidential machine client (OAuth 2.0 client_credentials, SMART Backend Services). */
export interface MachineClient {
  /** Client name; also the construct id. Letters, digits and dashes. */
  readonly name: string;
  /** `system/…` scopes (and optionally the delegation scope) it may request. */
  readonly scopes: readonly string[];
}

export interface FhirgateIdentityProps {
  /** Roles and their scopes: the groups and the resource-server scopes come from here. */
  readonly authz: AuthzSettings;
  /**
   * `'required'`: every user enrols a TOTP authenticator. `'optional'`: users may.
   * @default 'optional'
   */
  readonly mfa?: 'optional' | 'required';
  /**
   * Let anyone create an account from the sign-in page. An account sees nothing until an
   * operator links it to patients, but off keeps the pool to invited users.
   * @default false
   */
  readonly selfSignUp?: boolean;
  /**
   * Cognito feature plan. ESSENTIALS is the cheapest plan that serves this pool: managed login
   * (v2, with its branding style) needs it; LITE offers only the classic hosted UI. PLUS adds
   * threat protection — compromised-credential detection and adaptive authentication, enforced
   * here when chosen — at a higher price per monthly active user.
   * https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html
   * @default cognito.FeaturePlan.ESSENTIALS
   */
  readonly featurePlan?: cognito.FeaturePlan;
  /**
   * Managed-login domain prefix (`<prefix>.auth.<region>.amazoncognito.com`); globally unique
   * per region; may not contain "aws", "amazon" or "cognito".
   * @default `fhirgate-<account id>`
   */
  readonly domainPrefix?: string;
  /**
   * Redirect URIs of the web client (https, or http://localhost for development).
   * @default ['http://localhost:5173/callback']
   */
  readonly callbackUrls?: readonly string[];
  /** @default ['http://localhost:5173/'] */
  readonly logoutUrls?: readonly string[];
  /**
   * Scopes of the `api-server` machine client.
   * @default ['system/*.rs', 'fhirgate/delegate']
   */
  readonly apiServerScopes?: readonly string[];
  /**
   * More machine clients (analytics jobs, integrations).
   * @default []
   */
  readonly machineClients?: readonly MachineClient[];
  /** @default RemovalPolicy.RETAIN (the pool holds the users) */
  readonly removalPolicy?: RemovalPolicy;
}

/** The user pool, its groups, resource servers, domain and app clients. */
export class FhirgateIdentity extends Construct {
  readonly userPool: cognito.UserPool;
  readonly domain: cognito.UserPoolDomain;
  /** Public SPA client: authorization code + PKCE, SRP. */
  readonly webClient: cognito.UserPoolClient;
  /** The API server's confidential client_credentials client. */
  readonly apiServerClient: cognito.UserPoolClient;
  /** Every machine client, `api-server` first. */
  readonly machineClients: readonly cognito.UserPoolClient[];
  /** Every custom scope the pool defines (`patient/*.rs`, …, `fhirgate/delegate`). */
  readonly scopes: readonly string[];
  private broker?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: FhirgateIdentityProps) {
    super(scope, id);
    const featurePlan = props.featurePlan ?? cognito.FeaturePlan.ESSENTIALS;
    const mfa = props.mfa ?? 'optional';

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: props.selfSignUp ?? false,
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      // TOTP only: SMS needs an SNS role and is the weaker factor.
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan,
      ...(featurePlan === cognito.FeaturePlan.PLUS ? { standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION } : {}),
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (mfa === 'optional') {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason: 'MFA is optional by default in the fhirgate user pool because patients and guardians sign in from consumer devices; TOTP is offered, -c mfa=required makes it mandatory and -c featurePlan=plus adds enforced threat protection',
      });
    }
    if (featurePlan !== cognito.FeaturePlan.PLUS) {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason: 'The fhirgate user pool defaults to the ESSENTIALS feature plan, the cheapest that serves managed login v2; threat protection (PLUS) is one setting away (-c featurePlan=plus), and docs/deploy.md says what it adds and costs',
      });
    }

    // One group per role: the authorizer confirms the link record's role against cognito:groups.
    for (const role of ROLES) {
      const group = props.authz.roles[role].group;
      new cognito.CfnUserPoolGroup(this, `Group-${role}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: `fhirgate ${role}s`,
      });
    }

    const apiServerScopes = props.apiServerScopes ?? ['system/*.rs', DELEGATION_SCOPE];
    const machine: MachineClient[] = [{ name: 'api-server', scopes: apiServerScopes }, ...(props.machineClients ?? [])];
    this.scopes = poolScopes(props.authz, machine);
    const servers = new Map<string, cognito.UserPoolResourceServer>();
    const byServer = groupByServer(this.scopes);
    for (const [identifier, names] of byServer) {
      servers.set(
        identifier,
        this.userPool.addResourceServer(`Scopes-${identifier}`, {
          identifier,
          userPoolResourceServerName: identifier === 'fhirgate' ? 'fhirgate' : `SMART ${identifier}`,
          scopes: names.map((scopeName) => new cognito.ResourceServerScope({ scopeName, scopeDescription: describeScope(identifier, scopeName) })),
        }),
      );
    }
    const oauthScopes = (list: readonly string[]) =>
      list.map((full) => {
        const [server, name] = splitScope(full);
        return cognito.OAuthScope.resourceServer(servers.get(server)!, new cognito.ResourceServerScope({ scopeName: name, scopeDescription: describeScope(server, name) }));
      });

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.domainPrefix ?? `fhirgate-${Stack.of(this).account}` },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });

    // Frontends: a public client (no secret can be kept in a browser), authorization code flow.
    // Cognito checks the PKCE code_verifier whenever the app sent a code_challenge (S256); it
    // cannot be made mandatory per client, so the frontend must always send one (SMART App
    // Launch 2 requires it). SRP keeps passwords off the wire for SDK sign-in.
    const userScopes = this.scopes.filter((s) => /^(patient|user|launch)\//.test(s));
    this.webClient = this.userPool.addClient('WebClient', {
      userPoolClientName: 'web',
      generateSecret: false,
      // ADMIN_USER_PASSWORD_AUTH is AdminInitiateAuth: callable only with IAM credentials
      // (cognito-idp:AdminInitiateAuth), never by a browser; `fhirgate smoke` signs its throwaway
      // user in with it. The public password flow (USER_PASSWORD_AUTH) stays off.
      authFlows: { userSrp: true, adminUserPassword: true },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      // Bounds what no fhirgate check sees: a user disabled or deleted in the Cognito console alone
      // (not with `fhirgate users disable|delete`, which mark the link the authorizer reads) keeps a
      // token until it expires. Cognito allows five minutes to one day
      // (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html).
      accessTokenValidity: USER_AND_MACHINE_TOKEN_VALIDITY,
      idTokenValidity: USER_AND_MACHINE_TOKEN_VALIDITY,
      refreshTokenValidity: Duration.hours(12),
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE, ...oauthScopes(userScopes)],
        callbackUrls: [...(props.callbackUrls ?? ['http://localhost:5173/callback'])],
        logoutUrls: [...(props.logoutUrls ?? ['http://localhost:5173/'])],
      },
    });
    // Managed login (v2) shows a page only for clients with a branding style; Cognito's default one.
    new cognito.CfnManagedLoginBranding(this, 'WebClientBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.webClient.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.machineClients = machine.map((c) =>
      this.userPool.addClient(c.name === 'api-server' ? 'ApiServerClient' : `MachineClient-${c.name}`, {
        userPoolClientName: c.name,
        generateSecret: true,
        authFlows: {},
        enableTokenRevocation: true,
        // A machine token is not checked online (docs/revocation.md): its lifetime is its revocation window.
        accessTokenValidity: USER_AND_MACHINE_TOKEN_VALIDITY,
        supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
        oAuth: { flows: { clientCredentials: true }, scopes: oauthScopes(c.scopes) },
      }),
    );
    this.apiServerClient = this.machineClients[0]!;
  }

  /**
   * The broker: the one confidential app client through which fhirgate's authorization server
   * (`/auth/authorize`) signs users in with managed login for SMART App Launch. Authorization code
   * only, scope `openid` only (it learns who signed in; what an app is granted is fhirgate's
   * decision), a generated secret (the code is redeemed server-side, `/auth/callback`), and ONE
   * callback URL: fhirgate's own `/auth/callback`, so a code can only ever be delivered there.
   * Its tokens are accepted by nothing but the token service's sign-in check (the authorizer's and
   * the exchange's client allow-lists do not name it). The callback URL is built from the REST API
   * id and the stage name (lib/api.ts), not from the stage resource, so the client does not depend
   * on the API's deployment (which depends on the functions, which name this client): no cycle.
   * Cognito requires an absolute https URL without a fragment:
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
   */
  addBrokerClient(callbackUrl: string): cognito.UserPoolClient {
    if (this.broker) throw new TypeError('fhirgate identity: the broker client exists already');
    const broker = this.userPool.addClient('BrokerClient', {
      userPoolClientName: 'fhirgate-app-launch-broker',
      generateSecret: true,
      // None chosen (Cognito's defaults, as for the machine clients): any API sign-in through a
      // client with a secret needs its SECRET_HASH, which only the token service can compute;
      // users sign in on managed login.
      authFlows: {},
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      // Its tokens are redeemed and verified once, at the callback, then dropped: Cognito's minimums.
      accessTokenValidity: Duration.minutes(5),
      idTokenValidity: Duration.minutes(5),
      refreshTokenValidity: Duration.minutes(60),
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID],
        callbackUrls: [callbackUrl],
        logoutUrls: [],
      },
    });
    // Managed login (v2) shows a page only for clients with a branding style; Cognito's default one.
    new cognito.CfnManagedLoginBranding(this, 'BrokerClientBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: broker.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    this.broker = broker;
    return broker;
  }

  /** fhirgate's own confidential client for SMART App Launch sign-ins, once `addBrokerClient` made it. */
  get brokerClient(): cognito.UserPoolClient | undefined {
    return this.broker;
  }

  /**
   * The OIDC issuer of the pool (what `iss` says in its tokens), built exactly as aws-jwt-verify
   * derives it from the pool id, so discovery and verification agree.
   */
  get issuer(): string {
    return `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
  }

  /** The managed-login base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  get baseUrl(): string {
    return this.domain.baseUrl();
  }
}

/** Every custom scope the pool must define: baseline, the settings' scopes and the clients'. */
export function poolScopes(authz: AuthzSettings, machineClients: readonly MachineClient[]): string[] {
  const all = new Set<string>(BASELINE_SCOPES);
  for (const role of ROLES) for (const s of [...authz.roles[role].defaultScopes, ...authz.roles[role].ceilingScopes]) all.add(s);
  for (const s of authz.systemCeilingScopes) all.add(s);
  for (const c of machineClients) for (const s of c.scopes) all.add(s);
  all.add(DELEGATION_SCOPE);
  const scopes = [...all];
  for (const s of scopes) splitScope(s); // throws on a scope Cognito cannot define
  return scopes;
}

/** `patient/*.rs` → ['patient', '*.rs']; TypeError for scopes Cognito cannot hold. */
export function splitScope(scope: string): [string, string] {
  const slash = scope.indexOf('/');
  const server = scope.slice(0, slash);
  const name = scope.slice(slash + 1);
  const known = (SMART_RESOURCE_SERVERS as readonly string[]).includes(server) || server === splitDelegation()[0];
  if (slash < 1 || !known || !SCOPE_NAME.test(name)) {
    throw new TypeError(`fhirgate identity: scope ${JSON.stringify(scope)} is not <patient|user|system|launch|fhirgate>/<Cognito scope name>`);
  }
  return [server, name];
}

function splitDelegation(): [string, string] {
  const slash = DELEGATION_SCOPE.indexOf('/');
  return [DELEGATION_SCOPE.slice(0, slash), DELEGATION_SCOPE.slice(slash + 1)];
}

function groupByServer(scopes: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of scopes) {
    const [server, name] = splitScope(s);
    out.set(server, [...(out.get(server) ?? []), name]);
  }
  return out;
}

function describeScope(server: string, name: string): string {
  if (`${server}/${name}` === DELEGATION_SCOPE) return 'Exchange a signed-in user token for a patient-scoped token (RFC 8693)';
  if (server === 'launch') return `SMART launch context: ${name}`;
  return `SMART ${server}/${name}`;
}
