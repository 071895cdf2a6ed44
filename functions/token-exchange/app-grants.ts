/**
 * SMART App Launch at `POST /auth/token`: `authorization_code` (with PKCE) and `refresh_token`
 * for registered public apps. A request travels: parse → client → redeem (single use) → checks →
 * link → sign → answer. A code or refresh token presented a second time revokes its whole family
 * (every refresh token the launch produced), and so does a refresh after the user's link to the
 * patient was removed. Access tokens already issued are not revocable (JWTs); they live
 * `accessTokenSeconds` (5 minutes by default) and every FHIR request re-checks the link anyway.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppLaunchPolicy, AuthorizeError, launchUser } from '../core/app-launch';
import {
  checkCodeRedemption,
  checkRefresh,
  checkStillLinked,
  GRANT_TYPE_AUTHORIZATION_CODE,
  GRANT_TYPE_REFRESH_TOKEN,
  LaunchContext,
  launchTokenClaims,
  narrowed,
  parseCodeRequest,
  parseRefreshRequest,
} from '../core/app-launch-grants';
import { AccessDeniedError } from '../core/errors';
import { OAuthError } from '../core/oauth-error';
import type { AuthzSettings } from '../core/settings';
import type { FormParams } from '../core/token-exchange';
import type { LinkStore } from '../adapters/link-store';
import type { Logger } from '../common/log';
import type { AppRegistry } from './app-registry';
import { jsonResponse } from './http';
import { signAccessToken, signIdToken } from './jwt';
import type { LaunchStore } from './launch-store';
import { opaqueToken, s256, storageHash } from './pkce';
import type { JwtSigner } from './signer';

export interface AppGrantDeps {
  readonly apps: AppRegistry;
  readonly store: LaunchStore;
  readonly links: LinkStore;
  readonly settings: AuthzSettings;
  readonly policy: AppLaunchPolicy;
  readonly signer: JwtSigner;
  readonly log: Logger;
  readonly now: () => number;
  readonly newJti: () => string;
}

export const APP_GRANT_TYPES: readonly string[] = [GRANT_TYPE_AUTHORIZATION_CODE, GRANT_TYPE_REFRESH_TOKEN];

/** True when the form asks for an App Launch grant. */
export function wantsAppGrant(params: FormParams): boolean {
  const grant = params.find(([k]) => k === 'grant_type')?.[1];
  return grant !== undefined && APP_GRANT_TYPES.includes(grant);
}

/** The two grants; throws OAuthError (answered by the token handler's `refuse`). */
export function createAppGrants(deps: AppGrantDeps): (params: FormParams, audit: Record<string, unknown>) => Promise<APIGatewayProxyResult> {
  const { store, policy } = deps;
  const seconds = () => Math.floor(deps.now() / 1000);

  /** The app must be registered and active now (a revoked app redeems and refreshes nothing). */
  async function activeApp(clientId: string): Promise<void> {
    const app = await deps.apps.find(clientId);
    if (!app || app.status !== 'active') throw new OAuthError('invalid_client', 'unknown or revoked client_id');
  }

  /** The user may still launch for this patient; if not, the family dies with the refusal. */
  async function stillLinked(context: LaunchContext): Promise<void> {
    try {
      let link;
      try {
        link = await deps.links.get(context.sub);
      } catch (err) {
        if (err instanceof AccessDeniedError) throw new OAuthError('invalid_grant', `the user may not use the FHIR API: ${err.message}`, err.code);
        throw err;
      }
      let user;
      try {
        user = launchUser({ sub: context.sub }, link, deps.settings);
      } catch (err) {
        if (err instanceof AuthorizeError) throw new OAuthError('invalid_grant', err.message, 'ERR_NO_LINK');
        throw err;
      }
      checkStillLinked(context, user);
    } catch (err) {
      if (err instanceof OAuthError) await store.revokeFamily(context.family, seconds() + policy.offlineSeconds);
      throw err;
    }
  }

  /** Sign the tokens and store the next refresh token (same family, same end). */
  async function issue(context: LaunchContext, familyEnd: number | undefined, nonce: string | undefined, audit: Record<string, unknown>): Promise<APIGatewayProxyResult> {
    const now = seconds();
    const claims = launchTokenClaims(context, { issuer: policy.issuer, audience: policy.audience, accessTokenSeconds: policy.accessTokenSeconds, now, jti: deps.newJti(), ...(nonce !== undefined ? { nonce } : {}) });
    const accessToken = await signAccessToken(deps.signer, { ...claims.access });
    const idToken = claims.id && (await signIdToken(deps.signer, claims.id));
    let refreshToken: string | undefined;
    if (context.refresh) {
      refreshToken = opaqueToken();
      const exp = familyEnd ?? now + (context.refresh === 'offline' ? policy.offlineSeconds : policy.onlineSeconds);
      await store.putRefresh(storageHash(refreshToken), { ...launchContext(context), exp });
    }
    deps.log({ level: 'info', event: 'app-launch.issued', ...audit, sub: context.sub, client: context.clientId, patient: context.patient, scope: context.scope, jti: claims.access.jti, exp: claims.access.exp, kid: deps.signer.kid });
    // SMART App Launch "Response": access_token, token_type, expires_in, scope, patient,
    // need_patient_banner, id_token (openid), refresh_token (offline_access/online_access).
    return jsonResponse(200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: claims.expiresIn,
      scope: context.scope,
      patient: context.patient,
      need_patient_banner: true,
      ...(idToken ? { id_token: idToken } : {}),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  }

  return async (params, audit) => {
    const grantType = params.find(([k]) => k === 'grant_type')![1];
    audit.grant_type = grantType;
    if (grantType === GRANT_TYPE_AUTHORIZATION_CODE) {
      const request = parseCodeRequest(params);
      audit.client = request.clientId;
      await activeApp(request.clientId);
      const redeemed = await store.redeemCode(storageHash(request.code));
      if (!redeemed) throw new OAuthError('invalid_grant', 'unknown, expired or already used code');
      const { record } = redeemed;
      if (!redeemed.firstUse) {
        // RFC 6749 §4.1.2: a code used twice revokes what it produced.
        await store.revokeFamily(record.family, seconds() + policy.offlineSeconds);
        throw new OAuthError('invalid_grant', 'the code was already used; tokens issued from it are revoked');
      }
      checkCodeRedemption(record, request, s256(request.codeVerifier), seconds());
      await stillLinked(record);
      return issue(record, undefined, record.nonce, audit);
    }
    const request = parseRefreshRequest(params);
    audit.client = request.clientId;
    const redeemed = await store.redeemRefresh(storageHash(request.refreshToken));
    if (!redeemed) throw new OAuthError('invalid_grant', 'unknown or expired refresh token');
    const { record } = redeemed;
    if (!redeemed.firstUse) {
      // RFC 9700 §4.14.2: a rotated-out refresh token presented again means one copy was stolen;
      // end the family so neither the thief nor the app keeps going on it.
      await store.revokeFamily(record.family, record.exp);
      throw new OAuthError('invalid_grant', 'refresh token reuse detected; this launch is revoked, sign in again');
    }
    try {
      checkRefresh(record, request, seconds());
    } catch (err) {
      // Presented by another client: it was leaked; it is already spent, and so is the launch.
      await store.revokeFamily(record.family, record.exp);
      throw err;
    }
    await activeApp(record.clientId);
    if (await store.familyRevoked(record.family)) throw new OAuthError('invalid_grant', 'this launch was revoked; sign in again');
    await stillLinked(record);
    return issue(narrowed(record, request.scope), record.exp, undefined, audit);
  };
}

/** The launch context alone (a code record also carries its redirect, challenge, nonce and expiry). */
function launchContext(c: LaunchContext): LaunchContext {
  return {
    clientId: c.clientId,
    sub: c.sub,
    role: c.role,
    ...(c.fhirUser !== undefined ? { fhirUser: c.fhirUser } : {}),
    patient: c.patient,
    scope: c.scope,
    resourceScope: c.resourceScope,
    openid: c.openid,
    fhirUserClaim: c.fhirUserClaim,
    ...(c.refresh ? { refresh: c.refresh } : {}),
    family: c.family,
  };
}
