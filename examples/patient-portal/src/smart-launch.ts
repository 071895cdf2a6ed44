/**
 * Sign-in the SMART way, with the reference client fhirclient: `FHIR.oauth2.authorize()` sends
 * the browser to fhirgate's authorization endpoint (found in `.well-known/smart-configuration`)
 * with PKCE S256 and `aud` = the FHIR base; fhirgate signs the user in through Cognito, asks a
 * guardian or practitioner which patient, and comes back here; `FHIR.oauth2.ready()` redeems the
 * code. fhirclient keeps its state in sessionStorage (gone when the tab closes) and refreshes the
 * access token with the refresh token (`offline_access`) when it expires.
 */
import FHIR from 'fhirclient';
import type Client from 'fhirclient/lib/Client';
import type { PortalConfig } from './config';

/** What the portal asks for: the patient picked at sign-in, the user's identity, a refresh token, reads. */
export const SCOPE = 'openid fhirUser launch/patient offline_access patient/*.rs';

export interface Session {
  /** The patient this launch is bound to (the token response's `patient`). */
  readonly patientId: string;
  /** The signed-in user's FHIR resource (`Patient/…`, `RelatedPerson/…`, `Practitioner/…`) from the id_token. */
  readonly fhirUser: string;
  /** The current access token, refreshed first when it is about to expire. */
  accessToken(): Promise<string>;
  /** Refresh now (rotates the refresh token). */
  refresh(): Promise<void>;
  /** When the access token expires (epoch seconds). */
  expiresAt(): number;
}

/** True when this page load is the return from the authorization server (or a kept session). */
export function launchPending(): boolean {
  const query = new URLSearchParams(location.search);
  return (query.has('code') || query.has('error')) && query.has('state');
}

/** Go to fhirgate's sign-in (this page unloads). */
export async function signIn(config: PortalConfig): Promise<void> {
  await FHIR.oauth2.authorize({
    iss: config.fhirBaseUrl,
    clientId: config.clientId,
    scope: SCOPE,
    redirectUri: new URL('./', location.href).href,
    // SMART App Launch 2 requires PKCE; refuse to launch against a server that does not offer S256.
    pkceMode: 'required',
  });
}

/** Finish a launch (the redirect back with `code`) or pick up the kept session; undefined when there is none. */
export async function resume(): Promise<Session | undefined> {
  let client: Client;
  try {
    client = await FHIR.oauth2.ready();
  } catch (err) {
    // No session kept, or the server sent an error back: fhirclient says which.
    if (launchPending()) throw err;
    return undefined;
  } finally {
    // Leave no code or state in the address bar (nor in the history).
    if (launchPending()) history.replaceState(null, '', location.pathname);
  }
  const patientId = client.getPatientId();
  const fhirUser = client.getFhirUser();
  if (!patientId || !fhirUser) throw new Error('the server granted no patient or no fhirUser');
  return {
    patientId,
    fhirUser,
    async accessToken() {
      if ((client.state.expiresAt ?? 0) - 10 < Date.now() / 1000) await client.refresh();
      return client.state.tokenResponse!.access_token!;
    },
    async refresh() {
      await client.refresh();
    },
    expiresAt: () => client.state.expiresAt ?? 0,
  };
}

/** Forget the session: fhirclient's state lives in sessionStorage only. */
export function signOut(): void {
  sessionStorage.clear();
}
