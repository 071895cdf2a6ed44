/**
 * The cognito-local child process (spawned by process.ts, plain Node: no TypeScript loader in a
 * child). Its working directory is the caller's data directory, where cognito-local keeps
 * `.cognito/config.json` and `.cognito/db/`.
 *
 * It binds 127.0.0.1 first (port 0 = the kernel picks a free one), then writes the config with
 * `TokenConfig.IssuerDomain` naming that exact port, then builds cognito-local's express app with
 * `createDefaultServer` and attaches it to the already-listening server. Probing for a free port
 * in the parent and handing it over would leave a window in which another process takes it;
 * binding first has none. The bound port goes to the parent over IPC.
 *
 * Before the app is built, user-lifecycle.cjs adds what cognito-local lacks for disabling and
 * signing out users (a disabled user cannot sign in; AdminUserGlobalSignOut ends refresh tokens).
 *
 * Environment (set by process.ts):
 *   FHIRGATE_COGNITO_LOCAL_DIR  absolute path of the cognito-local package
 *   FHIRGATE_COGNITO_PORT       port to bind (0 = any free port)
 *   FHIRGATE_COGNITO_LOG_LEVEL  pino level for cognito-local's own log (stdout → a log file)
 */
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const packageDir = process.env.FHIRGATE_COGNITO_LOCAL_DIR;
const requestedPort = Number(process.env.FHIRGATE_COGNITO_PORT ?? '0');
const HOST = '127.0.0.1';

/** Tell the parent and stop; without a parent there is nobody to serve. */
function fail(message) {
  if (process.send) process.send({ type: 'error', message }, () => process.exit(1));
  else process.exit(1);
}

// The parent going away (even by SIGKILL) closes the IPC channel: exit then, so no emulator is
// ever left running without its owner.
process.on('disconnect', () => process.exit(0));

function main() {
  if (!packageDir || !process.send) {
    fail('child.cjs must be spawned by process.ts with an IPC channel');
    return;
  }
  require('./user-lifecycle.cjs').installUserLifecycle(packageDir);
  const { createDefaultServer } = require(packageDir);
  // pino is cognito-local's own logger dependency: resolve it from there, not from wherever npm hoisted it.
  const pino = require(require.resolve('pino', { paths: [packageDir] }));

  const server = http.createServer();
  server.on('error', (err) => fail(`cannot listen on ${HOST}:${requestedPort}: ${err.message}`));
  server.listen(requestedPort, HOST, () => {
    const { port } = server.address();
    const config = {
      // Token `iss` = `${IssuerDomain}/${userPoolId}`; JWKS at `${iss}/.well-known/jwks.json`.
      TokenConfig: { IssuerDomain: `http://${HOST}:${port}` },
      // cognito-local defaults user pools to email usernames; Cognito's default is plain usernames.
      // An array here replaces the default (cognito-local merges config arrays by replacement).
      UserPoolDefaults: { UsernameAttributes: [] },
      ServerConfig: { hostname: HOST, port },
    };
    fs.mkdirSync('.cognito', { recursive: true });
    fs.writeFileSync(path.join('.cognito', 'config.json'), JSON.stringify(config, null, 2));
    const logger = pino({ level: process.env.FHIRGATE_COGNITO_LOG_LEVEL || 'info', base: { name: 'cognito-local' } });
    createDefaultServer(logger).then(
      ({ application }) => {
        server.on('request', (req, res) => (openidConfiguration(req, res, config.TokenConfig.IssuerDomain) ? undefined : application(req, res)));
        process.send({ type: 'ready', port });
      },
      (err) => fail(`cognito-local failed to start: ${err && err.stack ? err.stack : err}`),
    );
  });
}

/**
 * OpenID Connect Discovery 1.0 §4 for a pool: cognito-local answers with `localhost:9229` whatever
 * it listens on, so `issuer` would not match the tokens' `iss` (§4.3: it MUST be identical) and
 * `jwks_uri` would point nowhere. Answered here with the issuer the tokens carry.
 */
function openidConfiguration(req, res, issuerDomain) {
  const match = req.method === 'GET' && /^\/([^/]+)\/\.well-known\/openid-configuration$/.exec((req.url || '').split('?')[0]);
  if (!match) return false;
  const issuer = `${issuerDomain}/${match[1]}`;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['RS256'],
    subject_types_supported: ['public'],
    response_types_supported: ['code'],
  }));
  return true;
}

main();
