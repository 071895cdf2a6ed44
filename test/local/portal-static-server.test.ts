/**
 * The portal's static server: the files directly in its directory, with a CSP that allows no
 * inline script; nothing else — no path out of the directory, no other method.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticServer, startStaticServer } from '../../local/portal/static-server';

let dir: string;
let server: StaticServer;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'fhirgate-static-'));
  dir = join(root, 'site');
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><p>index</p>');
  await writeFile(join(dir, 'app.js'), 'export {};');
  await writeFile(join(dir, 'sub', 'inner.js'), 'inner');
  await writeFile(join(root, 'secret.json'), '{"secret":true}');
  server = await startStaticServer(dir, 0);
});
afterAll(async () => {
  await server.close();
  await rm(join(dir, '..'), { recursive: true, force: true });
});

/** A raw request: the path is sent exactly as written (fetch would normalize `..`). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.origin}/`, { method, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/ → index.html, with the CSP (script only from self) and nosniff', async () => {
  const r = await get('/');
  expect(r.status).toBe(200);
  expect(r.body).toContain('index');
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(r.headers['content-security-policy']).toContain("script-src 'self'");
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('/app.js?v=1 → the file as JavaScript (the query is ignored)', async () => {
  const r = await get('/app.js?v=1');
  expect([r.status, r.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
});

test.each(['/../secret.json', '/..%2fsecret.json', '/%2e%2e/secret.json', '/sub/inner.js', '/missing.js', '/index.html.bak', '/.hidden.js'])('GET %s → 404', async (path) => {
  const r = await get(path);
  expect(r.status).toBe(404);
  expect(r.body).not.toContain('secret');
});

test('POST / → 405', async () => {
  expect((await get('/', 'POST')).status).toBe(405);
});
