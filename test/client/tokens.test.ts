/**
 * The token helpers over real HTTP against a recording token endpoint on 127.0.0.1: what they
 * send (RFC 6749 §4.4 with client_secret_basic, RFC 8693 form fields), what they cache, and how a
 * refusal surfaces. The exchange against the real token service runs in the smoke e2e.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientCredentialsTokens, onBehalfOfTokens, TokenRequestError } from '../../client';

interface Seen {
  readonly authorization?: string;
  readonly form: Record<string, string>;
}
const seen: Seen[] = [];
let server: http.Server;
let url: string;
let issued = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      seen.push({ authorization: req.headers.authorization, form });
      res.setHeader('content-type', 'application/json');
      if (form.subject_token === 'forged') {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'subject token is not valid' }));
        return;
      }
      res.end(JSON.stringify({ access_token: `tok-${++issued}`, token_type: 'Bearer', expires_in: 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => seen.splice(0));

test('client_credentials: Basic client authentication, one request per scope set while fresh', async () => {
  const tokens = clientCredentialsTokens({ tokenUrl: url, clientId: 'api-server', clientSecret: 's3cret:x' });
  const first = await tokens.token('system/*.rs fhirgate/delegate');
  expect(await tokens.token('fhirgate/delegate system/*.rs')).toBe(first); // same set, other order
  expect(await tokens.token('system/Patient.rs')).not.toBe(first);
  expect(seen).toHaveLength(2);
  expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('api-server:s3cret%3Ax').toString('base64')}`);
  expect(seen[0]!.form).toEqual({ grant_type: 'client_credentials', scope: 'system/*.rs fhirgate/delegate' });
});

test('on-behalf-of: RFC 8693 form with the actor token; cached per (user token, patient)', async () => {
  let actorCalls = 0;
  const obo = onBehalfOfTokens({ tokenUrl: url, actorToken: async () => `actor-${++actorCalls}` });
  const alice = await obo.token('alice-token');
  expect(await obo.token('alice-token')).toBe(alice);
  const danaCarol = await obo.token('dana-token', 'pat-carol');
  expect(await obo.token('dana-token', 'pat-carol')).toBe(danaCarol);
  expect(await obo.token('dana-token', 'pat-other')).not.toBe(danaCarol);
  expect(seen).toHaveLength(3);
  expect(seen[0]!.form).toEqual({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: 'alice-token',
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: 'actor-1',
    actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  });
  expect(seen[1]!.form.patient).toBe('pat-carol');
});

test('the key is the user token itself: another token (even with the same claims) never gets a cached token', async () => {
  const obo = onBehalfOfTokens({ tokenUrl: url, actorToken: async () => 'actor' });
  await obo.token('alice-token');
  // A forged token naming the same user is another key: it goes to the server, which refuses it.
  await expect(obo.token('forged')).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
  await expect(obo.token('forged')).rejects.toBeInstanceOf(TokenRequestError); // refusal not cached either
  expect(seen.map((s) => s.form.subject_token)).toEqual(['alice-token', 'forged', 'forged']);
});

test('forget drops a cached token (e.g. after a 401)', async () => {
  const obo = onBehalfOfTokens({ tokenUrl: url, actorToken: async () => 'actor' });
  const before = await obo.token('bob-token');
  obo.forget('bob-token');
  expect(await obo.token('bob-token')).not.toBe(before);
});
