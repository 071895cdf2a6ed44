/**
 * Interop scenarios: fhirgate's running local stack driven through client libraries nobody here
 * wrote, the way an adopter would use them. Run as a script (`tsx test/interop/scenarios.ts
 * <stack.json>`), because several of these libraries are ES modules only, which Jest's CommonJS
 * runtime cannot load; interop.test.ts starts the stack, runs this, and asserts every row.
 *
 * Output: one JSON line per scenario × client, `{scenario, client, ok, detail}`. Each scenario
 * asserts with node:assert; any throw is a failed row with the message.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { MedplumClient, OperationOutcomeError } from '@medplum/core';
import type { Client as FhirKitClientType } from 'fhir-kit-client';
import { machineToken, signIn } from '../../local/stack/clients';
import { LaunchBrowser, signInAt } from '../support/app-launch-client';
import type { StackInfo } from '../../bin/cli/stack-info';

/**
 * fhirclient through `require` with the few signatures used here: its own type declarations pull
 * the DOM lib into the whole TypeScript project (a browser library), which clashes with Node's.
 */
interface FhirclientClient {
  request(url: string, options?: { pageLimit?: number }): Promise<unknown>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smart = require('fhirclient') as (request: unknown, response: unknown) => { client(state: { serverUrl: string; tokenResponse: { access_token: string } }): FhirclientClient };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fhirclientSmart = require('fhirclient/lib/smart') as {
  getSecurityExtensions(baseUrl: string): Promise<{ tokenUri: string; authorizeUri: string }>;
  fetchWellKnownJson(baseUrl: string): Promise<{ capabilities: string[] }>;
};

const info = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StackInfo;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const issuer = new URL(info.exchangeIssuer);
const insecure = { [oauth.allowInsecureRequests]: true } as const; // http on 127.0.0.1 only
const apiServer = info.machineClients.find((c) => c.name === 'api-server')!;
const backend = info.backendClients[0]!;

interface Row {
  scenario: string;
  client: string;
  ok: boolean;
  detail: string;
}
const rows: Row[] = [];

async function scenario(name: string, client: string, run: () => Promise<string | void>): Promise<void> {
  try {
    rows.push({ scenario: name, client, ok: true, detail: (await run()) ?? '' });
  } catch (err) {
    rows.push({ scenario: name, client, ok: false, detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}

/** RFC 8414 metadata through oauth4webapi's own discovery (the RFC 8414 §3.1 location). */
async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** The demo backend client's ES384 key as a WebCrypto key, for the libraries' stock PrivateKeyJwt. */
async function backendKey(): Promise<webcrypto.CryptoKey> {
  const pkcs8 = createPrivateKey(backend.privateKeyPem).export({ format: 'pem', type: 'pkcs8' }).toString();
  return jose.importPKCS8(pkcs8, 'ES384') as Promise<webcrypto.CryptoKey>;
}

/** A token via the RFC 8693 exchange with oauth4webapi (actor authenticated with its client secret). */
async function exchangeWithOauth4webapi(subject: string, secret = apiServer.clientSecret): Promise<oauth.TokenEndpointResponse> {
  const as = await authorizationServer();
  const actor = await machineToken(info, 'api-server', 'fhirgate/delegate');
  const response = await oauth.genericTokenEndpointRequest(
    as,
    { client_id: apiServer.clientId },
    oauth.ClientSecretBasic(secret),
    TOKEN_EXCHANGE,
    { subject_token: subject, subject_token_type: ACCESS_TOKEN, actor_token: actor, actor_token_type: ACCESS_TOKEN },
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, { client_id: apiServer.clientId }, response);
}

/** A system/ token with oauth4webapi's stock PrivateKeyJwt (no assertion tweaks). */
async function backendTokenWithOauth4webapi(scope = 'system/Patient.rs'): Promise<oauth.TokenEndpointResponse> {
  const as = await authorizationServer();
  const client = { client_id: backend.clientId };
  const auth = oauth.PrivateKeyJwt({ key: await backendKey(), kid: backend.kid });
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope }, insecure);
  return oauth.processClientCredentialsResponse(as, client, response);
}

// fhir-kit-client exports only an `import` condition: loaded with import(), which tsx keeps as is.
let FhirKitClient: typeof FhirKitClientType;
const fhirKit = (token: string) => new FhirKitClient({ baseUrl: info.fhirBaseUrl, bearerToken: token });

/** fhirclient's Client with a token the app already has (fhirclient's "given token" mode). */
function fhirclient(token: string) {
  // fhirclient's Node entry wants the HTTP request/response of an OAuth redirect; with a token in hand, none is used.
  return smart({}, {}).client({ serverUrl: info.fhirBaseUrl, tokenResponse: { access_token: token } });
}

async function main(): Promise<void> {
  ({ Client: FhirKitClient } = await import('fhir-kit-client'));
  // ── Discovery ──────────────────────────────────────────────────────────────
  await scenario('discovery', 'fhirclient', async () => {
    const found = await fhirclientSmart.getSecurityExtensions(info.fhirBaseUrl);
    assert.equal(found.tokenUri, info.tokenExchangeUrl, 'the token endpoint fhirclient finds is fhirgate\'s');
    // App Launch is served by the local stack: fhirclient finds fhirgate's authorization endpoint.
    assert.equal(found.authorizeUri, `${info.exchangeIssuer}/authorize`);
    const wellKnown = await fhirclientSmart.fetchWellKnownJson(info.fhirBaseUrl);
    for (const served of ['launch-standalone', 'client-public', 'context-standalone-patient', 'sso-openid-connect']) assert.ok(wellKnown.capabilities.includes(served), served);
    return `tokenUri=${found.tokenUri} authorizeUri=${found.authorizeUri}`;
  });
  await scenario('discovery', 'oauth4webapi', async () => {
    const as = await authorizationServer();
    assert.equal(as.issuer, info.exchangeIssuer);
    assert.equal(as.token_endpoint, info.tokenExchangeUrl);
    assert.ok(as.grant_types_supported?.includes(TOKEN_EXCHANGE) && as.grant_types_supported.includes('client_credentials'));
    // The SMART configuration agrees with the RFC 8414 metadata.
    const smartConfig = (await (await fetch(`${info.fhirBaseUrl}/.well-known/smart-configuration`)).json()) as Record<string, unknown>;
    assert.equal(smartConfig.token_endpoint, as.token_endpoint);
    assert.deepEqual(smartConfig.token_endpoint_auth_methods_supported, as.token_endpoint_auth_methods_supported);
    return `methods=${as.token_endpoint_auth_methods_supported?.join(',')}`;
  });
  await scenario('app launch: authorization code + PKCE', 'oauth4webapi', async () => {
    // OpenID Connect discovery of fhirgate's issuer, then the standalone launch as a public client.
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
    const app = info.apps[0]!;
    const client: oauth.Client = { client_id: app.clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: app.redirectUris[0]!,
      scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
      aud: info.fhirBaseUrl,
      state,
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const alice = info.users.find((u) => u.username === 'alice')!;
    const browser = new LaunchBrowser();
    const back = await signInAt(browser, (await browser.get(url.toString())).location!, alice.username, alice.password);
    const params = oauth.validateAuthResponse(as, client, new URL(back.location!), state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, app.redirectUris[0]!, verifier, insecure);
    // oauth4webapi's own id_token checks: iss, aud, exp, iat, nonce, and the advertised algorithm.
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.equal(tokens.patient, 'pat-alice');
    assert.equal(claims.fhirUser, 'Patient/pat-alice');
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure));
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
    const read = await fetch(`${info.fhirBaseUrl}/Patient/pat-alice`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
    assert.equal(read.status, 200);
    return `patient=${String(tokens.patient)} fhirUser=${String(claims.fhirUser)} scope=${tokens.scope}`;
  });
  await scenario('discovery', 'openid-client', async () => {
    // Under an API Gateway stage only the issuer-relative location routes; openid-client takes it explicitly.
    const config = await openid.discovery(new URL(`${info.exchangeIssuer}/.well-known/oauth-authorization-server`), backend.clientId, undefined, openid.None(), { execute: [openid.allowInsecureRequests] });
    assert.equal(config.serverMetadata().issuer, info.exchangeIssuer);
    assert.equal(config.serverMetadata().jwks_uri, `${info.exchangeIssuer}/jwks.json`);
  });
  await scenario('discovery: verify every token kind', 'jose', async () => {
    const as = await authorizationServer();
    const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri!));
    const verify = (token: string) => jose.jwtVerify(token, jwks, { issuer: as.issuer, audience: info.fhirBaseUrl, typ: 'at+jwt', algorithms: ['ES256'] });
    const exchanged = await verify((await exchangeWithOauth4webapi(await signIn(info, 'alice'))).access_token);
    assert.equal(exchanged.payload.patient, 'pat-alice');
    const system = await verify((await backendTokenWithOauth4webapi()).access_token);
    assert.equal(system.payload.sub, backend.clientId);
    return 'exchanged + backend tokens verified from discovery';
  });

  // ── Patient app: Cognito sign-in (AWS SDK), then the FHIR clients ─────────────
  const alice = await signIn(info, 'alice'); // AWS SDK InitiateAuth against the Cognito emulator
  await scenario('patient app', 'fhir-kit-client', async () => {
    const client = fhirKit(alice);
    const patient = (await client.read({ resourceType: 'Patient', id: 'pat-alice' })) as unknown as { id: string };
    assert.equal(patient.id, 'pat-alice');
    const first = (await client.search({ resourceType: 'Observation', searchParams: { patient: 'pat-alice', _count: 1, _include: 'Observation:subject' } })) as any;
    assert.ok(first.entry.some((e: any) => e.resource.resourceType === 'Patient'), '_include brought the patient');
    const next = (await client.nextPage({ bundle: first })) as any; // the client's own next-page helper
    assert.ok(next && next.entry?.length >= 1, 'a second page through the signed next link');
    const history = (await client.history({ resourceType: 'Patient', id: 'pat-alice' })) as any;
    assert.equal(history.resourceType, 'Bundle');
    const version = history.entry[0].resource.meta.versionId;
    assert.equal(((await client.vread({ resourceType: 'Patient', id: 'pat-alice', version })) as any).id, 'pat-alice');
    const batch = (await client.batch({ body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/pat-alice' } }, { request: { method: 'GET', url: 'Patient/pat-bob' } }] } })) as any;
    assert.deepEqual(batch.entry.map((e: any) => e.response.status.slice(0, 3)), ['200', '404']);
    const everything = (await client.operation({ name: 'everything', resourceType: 'Patient', id: 'pat-alice', method: 'GET' })) as any;
    assert.ok(everything.entry.length > 1);
    // A refusal arrives as fhir-kit-client's error, carrying the OperationOutcome.
    const refused = await client.read({ resourceType: 'Patient', id: 'pat-bob' }).then(() => undefined, (err: any) => err);
    assert.equal(refused?.response?.status, 404);
    assert.equal(refused.response.data.resourceType, 'OperationOutcome');
  });
  await scenario('patient app', 'fhirclient', async () => {
    const client = fhirclient(alice);
    assert.equal(((await client.request('Patient/pat-alice')) as any).id, 'pat-alice');
    // pageLimit 0: fhirclient follows every `next` link itself.
    const pages = (await client.request('Observation?patient=pat-alice&_count=1', { pageLimit: 0 })) as any[];
    assert.ok(Array.isArray(pages) && pages.length > 1, 'fhirclient followed the next links');
    const history = (await client.request('Patient/pat-alice/_history')) as any;
    assert.equal(history.resourceType, 'Bundle');
    const everything = (await client.request('Patient/pat-alice/$everything')) as any;
    assert.ok(everything.entry.length > 1);
    const refused = await client.request('Observation?patient=pat-bob&_has:Patient:link:identifier=x').then(() => undefined, (err: any) => err);
    assert.equal(refused?.status ?? refused?.statusCode, 403);
    return `${pages.length} pages`;
  });

  await scenario('patient app', 'medplum', async () => {
    const medplum = new MedplumClient({ baseUrl: info.fhirBaseUrl.replace(/\/fhir$/, '/'), fhirUrlPath: 'fhir', fetch });
    medplum.setAccessToken(alice);
    assert.equal((await medplum.readResource('Patient', 'pat-alice')).id, 'pat-alice');
    const observations = await medplum.searchResources('Observation', { patient: 'pat-alice' });
    assert.ok(observations.length > 0 && observations.every((o) => o.subject?.reference === 'Patient/pat-alice'));
    // A refusal is Medplum's OperationOutcomeError carrying fhirgate's OperationOutcome.
    const refused = await medplum.readResource('Patient', 'pat-bob').then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof OperationOutcomeError, String(refused));
    assert.equal(refused.outcome.issue?.[0]?.code, 'not-found');
    return `${observations.length} observations`;
  });

  // ── On behalf of: RFC 8693 exchange ──────────────────────────────────────────
  await scenario('on behalf of', 'oauth4webapi', async () => {
    const token = await exchangeWithOauth4webapi(await signIn(info, 'carols-mother'));
    assert.equal(token.issued_token_type, ACCESS_TOKEN);
    const patient = (await fhirKit(token.access_token).read({ resourceType: 'Patient', id: 'pat-carol' })) as unknown as { id: string };
    assert.equal(patient.id, 'pat-carol');
  });
  await scenario('on behalf of', 'openid-client', async () => {
    const config = await openid.discovery(new URL(`${info.exchangeIssuer}/.well-known/oauth-authorization-server`), apiServer.clientId, undefined, openid.ClientSecretBasic(apiServer.clientSecret), { execute: [openid.allowInsecureRequests] });
    const token = await openid.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: await signIn(info, 'bob'),
      subject_token_type: ACCESS_TOKEN,
      actor_token: await machineToken(info, 'api-server', 'fhirgate/delegate'),
      actor_token_type: ACCESS_TOKEN,
    });
    const patient = (await fhirKit(token.access_token).read({ resourceType: 'Patient', id: 'pat-bob' })) as unknown as { id: string };
    assert.equal(patient.id, 'pat-bob');
  });

  // ── SMART Backend Services: stock private_key_jwt, from discovery to a search ──
  await scenario('backend services', 'oauth4webapi', async () => {
    const token = await backendTokenWithOauth4webapi();
    const bundle = (await fhirKit(token.access_token).search({ resourceType: 'Patient', searchParams: {} })) as any;
    assert.equal(bundle.entry.length, info.patients.length);
  });
  await scenario('backend services', 'openid-client', async () => {
    const config = await openid.discovery(
      new URL(`${info.exchangeIssuer}/.well-known/oauth-authorization-server`),
      backend.clientId,
      undefined,
      openid.PrivateKeyJwt({ key: await backendKey(), kid: backend.kid }),
      { execute: [openid.allowInsecureRequests] },
    );
    const token = await openid.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    const bundle = (await fhirKit(token.access_token).search({ resourceType: 'Patient', searchParams: {} })) as any;
    assert.equal(bundle.entry.length, info.patients.length);
  });

  // ── Errors, read with the clients' own error types ───────────────────────────
  await scenario('errors: FHIR API challenges (RFC 6750 §3)', 'oauth4webapi', async () => {
    const noToken = await fetch(`${info.fhirBaseUrl}/Patient`);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('www-authenticate'), 'Bearer realm="fhirgate"'); // §3.1: no error code without a token
    // oauth4webapi's protectedResourceRequest parses a challenge into its own error type.
    const challenged = async (token: string) =>
      oauth.protectedResourceRequest(token, 'GET', new URL(`${info.fhirBaseUrl}/Patient`), new Headers(), null, insecure).then(
        () => assert.fail('no challenge'),
        (err: unknown) => {
          assert.ok(err instanceof oauth.WWWAuthenticateChallengeError, String(err));
          assert.equal(err.response.headers.get('cache-control'), 'no-store');
          return { status: err.status, scheme: err.cause[0]?.scheme, error: err.cause[0]?.parameters.error };
        },
      );
    assert.deepEqual(await challenged('not.a.token'), { status: 401, scheme: 'bearer', error: 'invalid_token' });
    // analytics holds system/Observation.rs only: a Patient search lacks scope.
    assert.deepEqual(await challenged(await machineToken(info, 'analytics')), { status: 403, scheme: 'bearer', error: 'insufficient_scope' });
    assert.equal(noToken.headers.get('cache-control'), 'no-store');
  });
  await scenario('errors: token endpoint (RFC 6749 §5.2)', 'oauth4webapi', async () => {
    const err = await exchangeWithOauth4webapi(alice, 'WRONG').then(() => undefined, (e: unknown) => e);
    // oauth4webapi reads the 401's challenge first (WWWAuthenticateChallengeError), else the JSON body.
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      assert.equal(err.status, 401);
      assert.equal(err.cause[0]?.scheme, 'basic');
    } else {
      assert.ok(err instanceof oauth.ResponseBodyError, `unexpected ${String(err)}`);
      assert.deepEqual([err.status, err.error], [401, 'invalid_client']);
    }
    const get = await fetch(info.tokenExchangeUrl);
    assert.deepEqual([get.status, get.headers.get('allow'), ((await get.json()) as { error: string }).error], [405, 'POST', 'invalid_request']);
    return err instanceof Error ? err.name : '';
  });
  await scenario('errors: token endpoint (RFC 6749 §5.2)', 'openid-client', async () => {
    const config = await openid.discovery(new URL(`${info.exchangeIssuer}/.well-known/oauth-authorization-server`), backend.clientId, undefined, openid.PrivateKeyJwt({ key: (await jose.generateKeyPair('ES384', { extractable: false })).privateKey as webcrypto.CryptoKey, kid: backend.kid }), { execute: [openid.allowInsecureRequests] });
    const err = await openid.clientCredentialsGrant(config, { scope: 'system/Patient.rs' }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof openid.ResponseBodyError || err instanceof openid.WWWAuthenticateChallengeError, `unexpected ${String(err)}`);
    assert.equal(err.status, 401);
    return err.name;
  });
  await scenario('errors: FHIR refusals as OperationOutcome', 'fhir-kit-client', async () => {
    const client = fhirKit(alice);
    const outcome = async (p: Promise<unknown>) => p.then(() => undefined, (e: any) => ({ status: e.response?.status, code: e.response?.data?.issue?.[0]?.code }));
    assert.deepEqual(await outcome(client.read({ resourceType: 'Observation', id: 'does-not-exist' })), { status: 404, code: 'not-found' });
    assert.deepEqual(await outcome(client.operation({ name: 'lastn', resourceType: 'Observation', method: 'GET' })), { status: 501, code: 'not-supported' });
    assert.deepEqual(await outcome(client.search({ resourceType: 'NotAType', searchParams: {} })), { status: 404, code: 'not-supported' });
    assert.deepEqual(await outcome(client.search({ resourceType: 'Observation', searchParams: { _format: 'xml' } })), { status: 406, code: 'not-supported' });
  });

  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
