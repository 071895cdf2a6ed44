/**
 * A SMART App Launch by oauth4webapi (an ESM-only library, so it runs in its own tsx process):
 * the authorization server metadata is fhirgate's smart-configuration; PKCE, the authorization
 * response, the code grant, the id_token claims and a refresh are all oauth4webapi's own checks.
 * Args: <fhir base> <client id> <redirect uri> <username> <password>. Prints the outcome as JSON.
 */
import * as oauth from 'oauth4webapi';
import { LaunchBrowser, signInAt } from '../support/app-launch-client';

async function main(): Promise<void> {
  const [fhirBase, clientId, redirectUri, username, password] = process.argv.slice(2) as [string, string, string, string, string];
  const metadata = (await (await fetch(`${fhirBase}/.well-known/smart-configuration`)).json()) as oauth.AuthorizationServer;
  // The local stack is plain http on loopback; oauth4webapi insists on https unless told.
  const as: oauth.AuthorizationServer = metadata;
  const client: oauth.Client = { client_id: clientId };
  const options = { [oauth.allowInsecureRequests]: true };

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
    aud: fhirBase,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();

  const browser = new LaunchBrowser();
  const back = await signInAt(browser, (await browser.get(url.toString())).location!, username, password);
  const params = oauth.validateAuthResponse(as, client, new URL(back.location!), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, options);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
  const claims = oauth.getValidatedIdTokenClaims(tokens)!;
  const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, options));
  process.stdout.write(
    JSON.stringify({ patient: tokens.patient, scope: tokens.scope, idToken: { iss: claims.iss, aud: claims.aud, fhirUser: claims.fhirUser, nonce: claims.nonce }, refreshed: { patient: refreshed.patient, rotated: refreshed.refresh_token !== tokens.refresh_token } }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
