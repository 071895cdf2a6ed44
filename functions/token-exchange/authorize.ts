/**
 * SMART App Launch, the browser half: `GET /auth/authorize` → Cognito sign-in (the broker) →
 * `GET /auth/callback` → (patient picker, `POST /auth/picker`) → back to the app with a code.
 *
 * The sign-in is bound to the browser that started it: `/auth/authorize` sets an HttpOnly,
 * SameSite=Lax cookie holding the session id, which is also the `state` sent to Cognito; the
 * callback and the picker accept only that browser's session (a code or state carried to another
 * browser — login CSRF — finds no session). Errors before the client and its redirect_uri are
 * known are shown to the user; after, they go back to the app (RFC 6749 §4.1.2.1).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  AppClient,
  AppLaunchPolicy,
  AuthorizeError,
  AuthorizeRequest,
  automaticPatient,
  grantScopes,
  LaunchGrant,
  launchUser,
  LaunchUser,
  parseAuthorizeRequest,
  pickedPatient,
} from '../core/app-launch';
import type { CodeRecord } from '../core/app-launch-grants';
import { AccessDeniedError, DependencyError, TokenError } from '../core/errors';
import { OAuthError } from '../core/oauth-error';
import type { AuthzSettings } from '../core/settings';
import type { FormParams } from '../core/token-exchange';
import type { LinkStore } from '../adapters/link-store';
import type { Logger } from '../common/log';
import type { AppRegistry } from './app-registry';
import { formParams } from './http';
import { errorPage, pickerPage, redirect } from './launch-pages';
import type { LaunchStore } from './launch-store';
import { opaqueToken, storageHash } from './pkce';
import type { SignInBroker } from './sign-in-broker';

export interface AppLaunchDeps {
  readonly apps: AppRegistry;
  readonly store: LaunchStore;
  readonly broker: SignInBroker;
  readonly links: LinkStore;
  readonly settings: AuthzSettings;
  readonly policy: AppLaunchPolicy;
  readonly log: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** The session cookie; `__Host-` needs Secure and Path=/, so the name is plain and the path is the issuer's. */
export const SESSION_COOKIE = 'fhirgate_launch';

/** The three browser-facing routes. */
export function createAuthorizeHandlers(deps: AppLaunchDeps): { authorize: Handler; callback: Handler; picker: Handler } {
  const clock = () => Math.floor((deps.now ?? Date.now)() / 1000);
  const issuer = new URL(deps.policy.issuer);
  // Secure on https (always in AWS); the local stack is plain http on loopback.
  const cookieAttributes = `HttpOnly; SameSite=Lax; Path=${issuer.pathname.replace(/\/+$/, '') || '/'}${issuer.protocol === 'https:' ? '; Secure' : ''}`;

  /** A code for the chosen patient, and the app's redirect with it. */
  async function issueCode(sessionId: string, request: AuthorizeRequest, user: LaunchUser, grant: LaunchGrant, patient: string): Promise<APIGatewayProxyResult> {
    const code = opaqueToken();
    const record: CodeRecord = {
      clientId: request.clientId,
      sub: user.sub,
      role: user.role,
      ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
      patient,
      scope: grant.scope,
      resourceScope: grant.resourceScope,
      openid: grant.openid,
      fhirUserClaim: grant.fhirUser,
      ...(grant.refresh ? { refresh: grant.refresh } : {}),
      family: opaqueToken(),
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      exp: clock() + deps.policy.codeSeconds,
    };
    await deps.store.putCode(storageHash(code), record);
    await deps.store.deleteSession(sessionId);
    deps.log({ level: 'info', event: 'app-launch.code-issued', sub: user.sub, client: request.clientId, patient, scope: grant.scope });
    return redirect(withQuery(request.redirectUri, { code, state: request.state }), { 'Set-Cookie': `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes}` });
  }

  /** Send an error back to the app, or show it when it must not be redirected. */
  function refuse(err: unknown, request: AuthorizeRequest | undefined): APIGatewayProxyResult {
    if (err instanceof AuthorizeError) {
      deps.log({ level: 'warn', event: 'app-launch.refused', client: request?.clientId, error: err.code, reason: err.message });
      const back = err.target ?? request;
      if (err.redirect && back) {
        return redirect(withQuery(back.redirectUri, { error: err.code, error_description: err.message, ...(back.state !== undefined ? { state: back.state } : {}) }));
      }
      return errorPage(400, err.code, err.message);
    }
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof DependencyError) {
      deps.log({ level: 'error', event: 'app-launch.unavailable', code: err.code, reason });
      return request ? redirect(withQuery(request.redirectUri, { error: 'temporarily_unavailable', state: request.state })) : errorPage(503, 'temporarily_unavailable', 'The service is unavailable; try again.');
    }
    deps.log({ level: 'error', event: 'app-launch.error', code: 'ERR_INTERNAL', reason });
    return request ? redirect(withQuery(request.redirectUri, { error: 'server_error', state: request.state })) : errorPage(500, 'server_error', 'Something went wrong.');
  }

  /** The session this browser started, if it is the one `state` names. */
  async function browserSession(event: APIGatewayProxyEvent, state: string | undefined) {
    const id = cookie(event, SESSION_COOKIE);
    if (!id || (state !== undefined && state !== id)) return undefined;
    const session = await deps.store.getSession(id, clock());
    return session && { id, session };
  }

  const authorize: Handler = async (event) => {
    if (event.httpMethod !== 'GET') return errorPage(405, 'invalid_request', 'use GET');
    let request: AuthorizeRequest | undefined;
    try {
      const query = queryParams(event);
      const clientId = query.find(([k]) => k === 'client_id')?.[1];
      const client: AppClient | undefined = clientId ? await deps.apps.find(clientId) : undefined;
      request = parseAuthorizeRequest(query, client, deps.policy);
      // No sign-in that the callback could not finish: the broker's secret must be readable now.
      await deps.broker.ready();
      const id = opaqueToken();
      await deps.store.putSession(id, { request, exp: clock() + deps.policy.sessionSeconds });
      deps.log({ level: 'info', event: 'app-launch.authorize', client: request.clientId, scope: request.scope });
      return redirect(deps.broker.loginUrl(id), { 'Set-Cookie': `${SESSION_COOKIE}=${id}; Max-Age=${deps.policy.sessionSeconds}; ${cookieAttributes}` });
    } catch (err) {
      return refuse(err, request);
    }
  };

  const callback: Handler = async (event) => {
    if (event.httpMethod !== 'GET') return errorPage(405, 'invalid_request', 'use GET');
    let request: AuthorizeRequest | undefined;
    try {
      const query = new Map(queryParams(event));
      const found = await browserSession(event, query.get('state'));
      if (!found || found.session.user) return errorPage(400, 'invalid_request', 'This sign-in was not started in this browser, or it has expired. Start again from the app.');
      request = found.session.request;
      // Cognito reports a cancelled or failed sign-in as an error on the callback.
      if (query.has('error') || !query.get('code')) throw new AuthorizeError('access_denied', 'the sign-in did not complete', true);
      const signedIn = await signedInUser(deps.broker, query.get('code')!);
      const user = launchUser(signedIn, await linkOf(deps.links, signedIn.sub), deps.settings);
      const client = await deps.apps.find(request.clientId);
      if (!client || client.status !== 'active') throw new AuthorizeError('unauthorized_client', 'the app was revoked during sign-in', true);
      const grant = grantScopes(request.scope, client, user.role, deps.settings, deps.policy);
      const patient = automaticPatient(user);
      if (patient !== undefined) return await issueCode(found.id, request, user, grant, patient);
      await deps.store.putSession(found.id, { ...found.session, user, grant });
      // Relative action: the picker route sits beside the callback under any stage prefix.
      return pickerPage(client.name, user.patients, 'picker', request.redirectUri);
    } catch (err) {
      return refuse(err, request);
    }
  };

  const picker: Handler = async (event) => {
    if (event.httpMethod !== 'POST') return errorPage(405, 'invalid_request', 'use POST');
    let request: AuthorizeRequest | undefined;
    try {
      const found = await browserSession(event, undefined);
      const { user, grant } = found?.session ?? {};
      if (!found || !user || !grant) return errorPage(400, 'invalid_request', 'No patient choice is pending in this browser, or it has expired. Start again from the app.');
      request = found.session.request;
      const form = new Map(pickerForm(event));
      if (form.get('action') === 'deny') {
        await deps.store.deleteSession(found.id);
        throw new AuthorizeError('access_denied', 'the user cancelled', true);
      }
      let patient: string;
      try {
        patient = pickedPatient(user, form.get('patient'));
      } catch (err) {
        // A choice that was never offered is a tampered form: say so here, send nothing to the app.
        if (err instanceof AuthorizeError) return errorPage(400, err.code, err.message);
        throw err;
      }
      return await issueCode(found.id, request, user, grant, patient);
    } catch (err) {
      return refuse(err, request);
    }
  };

  return { authorize, callback, picker };
}

/** The broker's verdict; a refused sign-in is `access_denied` for the app. */
async function signedInUser(broker: SignInBroker, code: string) {
  try {
    return await broker.signedInUser(code);
  } catch (err) {
    if (err instanceof TokenError) throw new AuthorizeError('access_denied', `the sign-in could not be verified: ${err.message}`, true);
    throw err;
  }
}

async function linkOf(links: LinkStore, sub: string) {
  try {
    return await links.get(sub);
  } catch (err) {
    if (err instanceof AccessDeniedError) throw new AuthorizeError('access_denied', `this user may not use the FHIR API: ${err.message}`, true);
    throw err;
  }
}

function pickerForm(event: APIGatewayProxyEvent): FormParams {
  try {
    return formParams({ ...event, queryStringParameters: null, multiValueQueryStringParameters: null });
  } catch (err) {
    if (err instanceof OAuthError) throw new AuthorizeError('invalid_request', err.message, false);
    throw err;
  }
}

/** Query parameters in order, repeats kept (the core refuses repeats). */
function queryParams(event: APIGatewayProxyEvent): FormParams {
  const multi = event.multiValueQueryStringParameters;
  if (multi) return Object.entries(multi).flatMap(([k, vs]) => (vs ?? []).map((v) => [k, v] as const));
  return Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [k, v ?? ''] as const);
}

/** One cookie's value from the Cookie header(s). */
function cookie(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = [...Object.entries(event.multiValueHeaders ?? {}).flatMap(([k, vs]) => (k.toLowerCase() === 'cookie' ? (vs ?? []) : []))];
  if (headers.length === 0) headers.push(...Object.entries(event.headers ?? {}).flatMap(([k, v]) => (k.toLowerCase() === 'cookie' && v ? [v] : [])));
  for (const header of headers) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
    }
  }
  return undefined;
}

/** The redirect URI with parameters added to its query (RFC 6749 §4.1.2: keep the URI's own query). */
function withQuery(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  return url.toString();
}
