/**
 * Where the client_credentials endpoint looks up app clients: cognito-local itself, through
 * DescribeUserPoolClient, so the emulator's pool stays the one source of truth (a client added
 * later with the SDK works at once; a deleted one stops working), as with Cognito's own endpoint.
 */
import { CognitoIdentityProviderClient, DescribeUserPoolClientCommand, ResourceNotFoundException } from '@aws-sdk/client-cognito-identity-provider';

/** What the token endpoint needs to know about one app client. */
export interface AppClientRecord {
  readonly clientId: string;
  /** Absent for public clients, which cannot use client_credentials. */
  readonly clientSecret?: string;
  readonly allowedOAuthFlows: readonly string[];
  readonly allowedScopes: readonly string[];
  /** Where managed login may send the browser back (exact URLs). */
  readonly callbackUrls?: readonly string[];
  /** Access token lifetime, from the client's AccessTokenValidity. */
  readonly accessTokenSeconds: number;
}

export interface ClientDirectory {
  /** The client, or undefined when no such client exists. Throws when the lookup itself fails. */
  find(clientId: string): Promise<AppClientRecord | undefined>;
}

/** Cognito's default access token lifetime (60 minutes) when a client does not set one. */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 3600;

const UNIT_SECONDS: Readonly<Record<string, number>> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

/** Look clients up in one cognito-local user pool. */
export function cognitoClientDirectory(cognito: CognitoIdentityProviderClient, userPoolId: string): ClientDirectory {
  return {
    async find(clientId) {
      try {
        const { UserPoolClient: c } = await cognito.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId }));
        if (!c?.ClientId) return undefined;
        const unit = UNIT_SECONDS[c.TokenValidityUnits?.AccessToken ?? 'hours'] ?? 3600;
        return {
          clientId: c.ClientId,
          clientSecret: c.ClientSecret,
          allowedOAuthFlows: c.AllowedOAuthFlows ?? [],
          allowedScopes: c.AllowedOAuthScopes ?? [],
          callbackUrls: c.CallbackURLs ?? [],
          accessTokenSeconds: c.AccessTokenValidity ? c.AccessTokenValidity * unit : DEFAULT_ACCESS_TOKEN_SECONDS,
        };
      } catch (err) {
        if (err instanceof ResourceNotFoundException) return undefined;
        throw err;
      }
    },
  };
}
