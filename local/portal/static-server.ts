/**
 * A tiny static file server on loopback for the patient portal (and the browser tests' probe
 * pages). It serves the files directly inside one directory and nothing else: a name is a plain
 * file name with a known extension, so no path can climb out of the directory.
 */
import { readFile } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  png: 'image/png',
};

/**
 * Script only from this origin (no inline script: clinical text can never run as code); the API
 * and Cognito are other loopback origins, so `connect-src` allows loopback.
 */
const HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http://127.0.0.1:*; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // A development server: a rebuilt bundle or a rewritten config.json is never served stale.
  'cache-control': 'no-store',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>`: the page origin, exactly as a browser sends it in `Origin`. */
  readonly origin: string;
  /** The origin with a trailing slash: the index page. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serve `dir` on 127.0.0.1:port (0 = a free port); `/` is `index.html`. */
export async function startStaticServer(dir: string, port: number): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').split(/[?#]/)[0]!.slice(1) || 'index.html';
    const ext = /^[A-Za-z0-9][A-Za-z0-9._-]*\.([a-z]+)$/.exec(name)?.[1];
    const type = ext === undefined || name.includes('..') ? undefined : CONTENT_TYPES[ext];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...HEADERS }).end();
      return;
    }
    if (type === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain', ...HEADERS }).end('not found\n');
      return;
    }
    readFile(join(dir, name)).then(
      (body) => res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...HEADERS }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(404, { 'content-type': 'text/plain', ...HEADERS }).end('not found\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
