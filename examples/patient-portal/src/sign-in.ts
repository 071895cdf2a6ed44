/**
 * Sign-in against the Cognito user pool with amazon-cognito-identity-js: no hand-rolled auth.
 * The app keeps only what the library keeps (in sessionStorage: gone when the tab closes) and
 * asks it for the access token before every API call, so an expired token is refreshed.
 */
import { AuthenticationDetails, CognitoUser, CognitoUserPool, CognitoUserSession } from 'amazon-cognito-identity-js';
import type { PortalConfig } from './config';

export interface SignedInUser {
  readonly username: string;
  /** `cognito:groups` of the access token: fhirgate's role (patient, guardian, practitioner). */
  readonly groups: readonly string[];
}

export interface SignIn {
  signIn(username: string, password: string): Promise<SignedInUser>;
  /** The user of a session kept from before a reload, if it is still valid. */
  restore(): Promise<SignedInUser | undefined>;
  /** The current ACCESS token (not the ID token: fhirgate refuses ID tokens, RFC 9068 §4). */
  accessToken(): Promise<string>;
  signOut(): void;
}

/**
 * USER_SRP_AUTH against Cognito (the deployed web client allows SRP only: the password never
 * leaves the browser). cognito-local implements no SRP, so with an emulator endpoint the same
 * library sends USER_PASSWORD_AUTH instead.
 */
export function createSignIn(config: PortalConfig): SignIn {
  const pool = new CognitoUserPool({
    UserPoolId: config.userPoolId,
    ClientId: config.webClientId,
    ...(config.cognitoEndpoint ? { endpoint: `${config.cognitoEndpoint}/` } : {}),
    Storage: window.sessionStorage,
  });
  const flow = config.cognitoEndpoint ? 'USER_PASSWORD_AUTH' : 'USER_SRP_AUTH';

  const session = (user: CognitoUser) =>
    new Promise<CognitoUserSession>((resolve, reject) =>
      // getSession returns the kept session, or refreshes it with the refresh token when expired.
      user.getSession((err: Error | null, s: CognitoUserSession | null) => (err || !s ? reject(err ?? new Error('no session')) : resolve(s))),
    );
  const describe = (user: CognitoUser, s: CognitoUserSession): SignedInUser => ({
    username: user.getUsername(),
    groups: (s.getAccessToken().decodePayload()['cognito:groups'] as string[] | undefined) ?? [],
  });

  return {
    signIn(username, password) {
      const user = new CognitoUser({ Username: username, Pool: pool, Storage: window.sessionStorage });
      user.setAuthenticationFlowType(flow);
      return new Promise((resolve, reject) => {
        const unsupported = (what: string) => () => reject(new Error(`${what} is required; this example does not implement it`));
        user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
          onSuccess: (s) => resolve(describe(user, s)),
          onFailure: (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
          newPasswordRequired: unsupported('A new password'),
          mfaRequired: unsupported('MFA'),
          totpRequired: unsupported('MFA'),
          mfaSetup: unsupported('MFA setup'),
          selectMFAType: unsupported('MFA'),
          customChallenge: unsupported('A custom challenge'),
        });
      });
    },
    async restore() {
      const user = pool.getCurrentUser();
      if (!user) return undefined;
      try {
        return describe(user, await session(user));
      } catch {
        return undefined;
      }
    },
    async accessToken() {
      const user = pool.getCurrentUser();
      if (!user) throw new Error('not signed in');
      return (await session(user)).getAccessToken().getJwtToken();
    },
    signOut() {
      pool.getCurrentUser()?.signOut();
    },
  };
}
