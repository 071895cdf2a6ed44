/**
 * The JWKS fetcher against real servers on 127.0.0.1: every fetch says who it is (AWS WAF's Core
 * rule set blocks requests without a User-Agent, and fhirgate's own JWKS sits behind WAF), over
 * HTTPS (aws-jwt-verify's fetcher, a self-signed certificate made for the test) and loopback HTTP.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWKS_USER_AGENT, LoopbackAwareFetcher } from '../../functions/adapters/jwks-fetcher';

const JWKS = JSON.stringify({ keys: [] });
const seen: (string | undefined)[] = [];
const handler: http.RequestListener = (req, res) => {
  seen.push(req.headers['user-agent']);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JWKS);
};
const servers: (http.Server | https.Server)[] = [];

async function listen(server: http.Server | https.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

beforeEach(() => seen.splice(0));

test('loopback HTTP fetches send the fhirgate User-Agent', async () => {
  const port = await listen(http.createServer(handler));
  const body = await new LoopbackAwareFetcher().fetch(`http://127.0.0.1:${port}/auth/jwks.json`);
  expect(Buffer.from(body).toString()).toBe(JWKS);
  expect(seen).toEqual([JWKS_USER_AGENT]);
});

test('HTTPS fetches (aws-jwt-verify\'s fetcher) send it too, alongside any caller options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fhirgate-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const port = await listen(https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, handler));
  const body = await new LoopbackAwareFetcher().fetch(`https://127.0.0.1:${port}/auth/jwks.json`, { ca: cert });
  expect(Buffer.from(body).toString()).toBe(JWKS);
  expect(seen).toEqual([JWKS_USER_AGENT]);
});
