/**
 * A SMART App Launch walked over plain HTTP, the way a browser would (one cookie jar, redirects
 * followed by hand so each hop can be inspected): fhirgate's /auth/authorize → the local Cognito's
 * sign-in form → /auth/callback → (the patient picker) → the app's redirect_uri with a code.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface LaunchParams {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly aud: string;
  readonly scope: string;
  readonly state?: string;
  /** Omit PKCE entirely with `null`. @default a fresh S256 pair */
  readonly pkce?: { verifier: string; challenge: string; method: string } | null;
  readonly extra?: Record<string, string>;
}

export interface Hop {
  readonly status: number;
  readonly location?: string;
  readonly body: string;
}

/** A fresh RFC 7636 S256 pair. */
export function pkcePair(): { verifier: string; challenge: string; method: 'S256' } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url'), method: 'S256' };
}

/** One browser: a cookie jar and manual redirects. */
export class LaunchBrowser {
  private readonly cookies = new Map<string, string>();

  async get(url: string): Promise<Hop> {
    return this.send(url, { method: 'GET' });
  }

  async postForm(url: string, form: Record<string, string>): Promise<Hop> {
    return this.send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }

  private async send(url: string, init: RequestInit): Promise<Hop> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const eq = pair!.indexOf('=');
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0/i.test(set) || value === '') this.cookies.delete(pair!.slice(0, eq));
      else this.cookies.set(pair!.slice(0, eq), value);
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, ...(location ? { location: new URL(location, url).toString() } : {}), body: await res.text() };
  }
}

/** The authorize URL for `params` (PKCE S256 unless told otherwise). */
export function authorizeUrl(authorizeEndpoint: string, params: LaunchParams): { url: string; verifier?: string; state: string } {
  const pkce = params.pkce === undefined ? pkcePair() : params.pkce;
  const state = params.state ?? randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: params.redirectUri,
    aud: params.aud,
    scope: params.scope,
    state,
    ...(pkce ? { code_challenge: pkce.challenge, code_challenge_method: pkce.method } : {}),
    ...params.extra,
  });
  return { url: `${authorizeEndpoint}?${query}`, ...(pkce ? { verifier: pkce.verifier } : {}), state };
}

/**
 * Sign in on the local Cognito form reached from fhirgate's redirect, and come back to the
 * callback. Returns the callback's answer (a redirect to the app, or the picker page).
 */
export async function signInAt(browser: LaunchBrowser, loginUrl: string, username: string, password: string): Promise<Hop> {
  const form = await browser.get(loginUrl);
  if (form.status !== 200) throw new Error(`login page answered ${form.status}: ${form.body.slice(0, 200)}`);
  const hidden = Object.fromEntries([...form.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, decodeHtml(m[2]!)]));
  const login = await browser.postForm(new URL('/login', loginUrl).toString(), { ...hidden, username, password });
  if (login.status !== 302 || !login.location) throw new Error(`sign-in answered ${login.status}: ${login.body.slice(0, 200)}`);
  return browser.get(login.location);
}

/** The patient ids a picker page offers. */
export function pickerChoices(page: string): string[] {
  return [...page.matchAll(/name="patient" value="([^"]+)"/g)].map((m) => decodeHtml(m[1]!));
}

/** The query parameters of a redirect to the app. */
export function redirectParams(location: string | undefined): Record<string, string> {
  if (!location) throw new Error('no redirect');
  return Object.fromEntries(new URL(location).searchParams);
}

function decodeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}
