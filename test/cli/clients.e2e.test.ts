/**
 * `fhirgate clients …` end to end: the real CLI process registers SMART Backend Services clients
 * (private_key_jwt) in the local stack's registry, and the clients then sign assertions and ask
 * the stack's token endpoint (`stack.info.tokenExchangeUrl`, every assertion's `aud`) for tokens.
 *
 * The local stack allow-lists only `backend-sync` (FHIRGATE_BACKEND_CLIENT_IDS). So a NEW client
 * authenticates (its signature verifies) but the token service refuses to issue it a token,
 * `unauthorized_client` — the deployment allow-list at work, which the CLI says after every
 * registration. `backend-sync` re-registered with a fresh key gets a token the FHIR API accepts.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertionClaims, clientCredentialsForm, ClientKey, clientKey, publicJwk, signAssertion, startClientJwksServer } from '../token-exchange/backend-support';
import { awsEnv, gatewayGet, json, runCli, startFakeCloudFormation, startStack, TEST_CACHE_TTL, TestStack } from './support';

jest.setTimeout(120_000);

let stack: TestStack;
let files: string;
const cli = (...args: string[]) => runCli(['--local', ...args], { dir: stack.dir });

beforeAll(async () => {
  [stack, files] = await Promise.all([startStack(), mkdtemp(join(tmpdir(), 'fhirgate-cli-clients-'))]);
});

afterAll(async () => {
  await stack?.stop();
  if (files) await rm(files, { recursive: true, force: true });
});

/** Write a JWKS file the way an operator receives one from a client. */
async function jwksFile(name: string, keys: Record<string, unknown>[]): Promise<string> {
  const path = join(files, name);
  await writeFile(path, JSON.stringify({ keys }));
  return path;
}

/** POST /auth/token with a fresh assertion signed by `key` for `clientId`, as the client would. */
async function tokenRequest(key: ClientKey, clientId: string, scope?: string): Promise<{ status: number; body: any }> {
  const assertion = signAssertion(key, assertionClaims(clientId, stack.info.tokenExchangeUrl, Math.floor(Date.now() / 1000)));
  const res = await fetch(stack.info.tokenExchangeUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: clientCredentialsForm(assertion, scope ? [['scope', scope]] : []),
  });
  return { status: res.status, body: await res.json() };
}

/** The registered client authenticated, and the allow-list kept it from a token (RFC 6749 §5.2). */
const NOT_ALLOW_LISTED = { status: 400, body: { error: 'unauthorized_client', error_description: 'the client is registered but not enabled for the FHIR API (FHIRGATE_BACKEND_CLIENT_IDS)' } };
const REVOKED = { status: 401, body: { error: 'invalid_client', error_description: 'the client is revoked' } };

/** The demo client's key from stack.json. */
function demoKey(): ClientKey {
  const demo = stack.info.backendClients[0]!;
  const privateKey = createPrivateKey(demo.privateKeyPem);
  return { alg: 'ES384', kid: demo.kid, privateKey, publicKey: createPublicKey(privateKey) };
}

const registered = async () => json<any[]>(await cli('--json', 'clients', 'list'));

describe('clients register', () => {
  test('a new client with an inline ES384 JWKS: registered; it authenticates, and the allow-list refuses it a token', async () => {
    const key = clientKey('ES384', 'etl-es-1');
    // fhirgate --local clients register --client-id etl-es384 --jwks-file etl.json --scope system/Observation.rs --name 'Reporting ETL'
    const r = await cli('clients', 'register', '--client-id', 'etl-es384', '--jwks-file', await jwksFile('etl.json', [publicJwk(key)]), '--scope', 'system/Observation.rs', '--name', 'Reporting ETL');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Registered backend client etl-es384\n {2}status +active\n {2}keys +inline JWKS, kid etl-es-1 \(EC P-384\)\n {2}scopes +system\/Observation\.rs\n {2}name +Reporting ETL\n/);
    expect(r.stdout).toContain(`  token URL  ${stack.info.tokenExchangeUrl}\n`);
    expect(r.stdout).toContain(`must carry aud = ${stack.info.tokenExchangeUrl}, exactly.`);
    expect(r.stdout).toContain(
      'Before the FHIR API accepts its tokens, etl-es384 must also be on the deployment allow-list: FHIRGATE_BACKEND_CLIENT_IDS on the authorizer and the token service, ' +
        'set through the CDK setting backendClientIds; until then the token service answers it unauthorized_client. This local stack allow-lists backend-sync.\n',
    );

    // Its signature verifies against the registered key (a key it never registered is invalid_client, 401)…
    expect(await tokenRequest(clientKey('ES384', 'etl-es-1'), 'etl-es384')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // …and then the allow-list stops it: no token, so nothing reaches the FHIR API. This is the
    // step the CLI names: add the id to backendClientIds (FHIRGATE_BACKEND_CLIENT_IDS) and deploy.
    expect(await tokenRequest(key, 'etl-es384')).toEqual(NOT_ALLOW_LISTED);
  });

  test('RS384: an inline JWKS file, and a JWKS URL the client serves (--json)', async () => {
    const inline = clientKey('RS384', 'sync-rs-1');
    const r = await cli('--json', 'clients', 'register', '--client-id', 'sync-rs384', '--jwks-file', await jwksFile('rs.json', [publicJwk(inline)]), '--scope', 'system/Patient.rs system/Observation.rs');
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({
      clientId: 'sync-rs384',
      status: 'active',
      keys: { source: 'inline', kids: ['sync-rs-1'] },
      scopes: ['system/Patient.rs', 'system/Observation.rs'],
      name: null,
      replaced: null,
      tokenUrl: stack.info.tokenExchangeUrl,
      allowListed: false,
      note: expect.stringMatching(/^Before the FHIR API accepts its tokens, sync-rs384 must also be on the deployment allow-list: FHIRGATE_BACKEND_CLIENT_IDS/),
    });
    expect(await tokenRequest(inline, 'sync-rs384', 'system/Patient.rs')).toEqual(NOT_ALLOW_LISTED);

    const served = clientKey('RS384', 'lab-rs-1');
    const jwks = await startClientJwksServer([served]);
    try {
      // http is accepted on loopback only (the token service's rule); in AWS the URL is https.
      const byUrl = await cli('clients', 'register', '--client-id', 'lab-sync', '--jwks-url', jwks.jwksUri, '--scope', 'system/Observation.rs');
      expect(byUrl.code).toBe(0);
      expect(byUrl.stdout).toContain(`  keys       JWKS URL ${jwks.jwksUri}\n`);
      expect(await tokenRequest(served, 'lab-sync')).toEqual(NOT_ALLOW_LISTED);
      expect(jwks.fetches).toBe(1);
    } finally {
      await jwks.close();
    }
  });

  test('backend-sync (allow-listed) with a fresh key: refused without --replace; with it, the new key gets a token the FHIR API accepts', async () => {
    const key = clientKey('ES384', 'backend-sync-2');
    const file = await jwksFile('sync.json', [publicJwk(key)]);
    const args = ['clients', 'register', '--client-id', 'backend-sync', '--jwks-file', file, '--scope', 'system/*.rs', '--name', 'backend sync, key 2'];

    // Over an active client without --replace: refused, and the demo key still works.
    const refused = await cli(...args);
    expect({ code: refused.code, stderr: refused.stderr, stdout: refused.stdout }).toEqual({
      code: 1,
      stderr: 'fhirgate: backend client backend-sync is already registered and active; pass --replace to replace its keys, scopes and name\n',
      stdout: '',
    });
    expect((await tokenRequest(demoKey(), 'backend-sync')).status).toBe(200);

    // fhirgate --local --json clients register --client-id backend-sync --jwks-file sync.json --scope 'system/*.rs' --replace
    const replaced = await cli('--json', ...args, '--replace');
    expect(replaced.code).toBe(0);
    expect(json(replaced)).toMatchObject({
      clientId: 'backend-sync',
      keys: { source: 'inline', kids: ['backend-sync-2'] },
      replaced: { clientId: 'backend-sync', status: 'active', keys: { source: 'inline', kids: ['backend-sync-1'] } },
      allowListed: true,
      note: expect.stringMatching(/^backend-sync is on the backend client allow-list of the local stack \(.*stack\.json\): it can get tokens now\.$/),
    });

    const issued = await tokenRequest(key, 'backend-sync', 'system/Patient.rs');
    expect(issued).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'system/Patient.rs' } });
    const patients = await gatewayGet(stack, issued.body.access_token, 'Patient');
    expect(patients.status).toBe(200);
    // The authorizer's own verdict (whoami): a system principal, the stack's backend allow-list.
    const verdict = await runCli(['--local', '--json', 'whoami', '--token', '-'], { dir: stack.dir, input: issued.body.access_token });
    expect(json(verdict)).toMatchObject({ effect: 'Allow', principal: { kind: 'system', clientId: 'backend-sync', scopes: ['system/Patient.rs'] } });
    // The replaced key authenticates nobody any more.
    expect(await tokenRequest(demoKey(), 'backend-sync')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  // [case, what the operator passes instead of a good registration, the one stderr line]
  const REFUSED: [string, () => Promise<string[]>, RegExp][] = [
    [
      'a private key in the JWKS',
      async () => {
        const key = clientKey('ES384', 'leaked-1');
        return ['--jwks-file', await jwksFile('private.json', [{ ...key.privateKey.export({ format: 'jwk' }), kid: 'leaked-1' }]), '--scope', 'system/*.rs'];
      },
      /^fhirgate: refused by the token service's rules: jwks must hold public keys only \(a private key was pasted\) \(--jwks-file ".*private\.json"\); nothing was written$/,
    ],
    [
      'a PEM private key instead of a JWKS',
      async () => {
        const pem = clientKey('ES384').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
        const path = join(files, 'key.pem');
        await writeFile(path, pem);
        return ['--jwks-file', path, '--scope', 'system/*.rs'];
      },
      /^fhirgate: --jwks-file .*key\.pem holds a PEM PRIVATE key: give the client's PUBLIC keys as a JWKS/,
    ],
    [
      'a patient/ scope',
      async () => ['--jwks-file', await jwksFile('ok.json', [publicJwk(clientKey('ES384', 'ok-1'))]), '--scope', 'patient/*.rs'],
      /^fhirgate: refused by the token service's rules: scopes must be system\/ resource scopes \(--scope "patient\/\*\.rs"\); nothing was written$/,
    ],
    [
      'a JWKS URL that is neither https nor loopback',
      async () => ['--jwks-url', 'http://jwks.example.com/keys.json', '--scope', 'system/*.rs'],
      /^fhirgate: refused by the token service's rules: jwksUri must be an https URL \(or http on loopback\) \(--jwks-url "http:\/\/jwks\.example\.com\/keys\.json"\); nothing was written$/,
    ],
    ['no keys at all', async () => ['--scope', 'system/*.rs'], /^fhirgate: pass the client's public keys: --jwks-url <https URL> or --jwks-file <path>$/],
    [
      'both a JWKS URL and a JWKS file',
      async () => ['--jwks-url', 'https://jwks.example.com/keys.json', '--jwks-file', 'x.json', '--scope', 'system/*.rs'],
      /^fhirgate: option '--jwks-url <url>' cannot be used with option '--jwks-file <path>'$/,
    ],
    ['a JWKS file that does not exist', async () => ['--jwks-file', join(files, 'missing.json'), '--scope', 'system/*.rs'], /^fhirgate: cannot read --jwks-file .*missing\.json \(ENOENT\)$/],
  ];

  test.each(REFUSED)('refused, one line, exit 2, nothing written: %s', async (_name, options, line) => {
    const before = await registered();
    const r = await cli('clients', 'register', '--client-id', 'refused-client', ...(await options()));
    expect({ code: r.code, stdout: r.stdout, lines: r.stderr.split('\n').filter(Boolean).length }).toEqual({ code: 2, stdout: '', lines: 1 });
    expect(r.stderr.trim()).toMatch(line);
    expect(await registered()).toEqual(before);
  });

  test('a malformed client id is refused by the same rules (exit 2)', async () => {
    const r = await cli('clients', 'register', '--client-id', 'has space', '--jwks-url', 'https://jwks.example.com/keys.json', '--scope', 'system/*.rs');
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: 'fhirgate: refused by the token service\'s rules: clientId must be 1..255 printable characters (--client-id "has space"); nothing was written\n',
    });
  });
});

describe('clients list', () => {
  test('every registration: id, status, key source (JWKS URL or inline kids), scopes, name', async () => {
    const all = await registered();
    expect(all.map((c) => c.clientId)).toEqual(['backend-sync', 'etl-es384', 'lab-sync', 'sync-rs384']);
    expect(all[1]).toEqual({ clientId: 'etl-es384', status: 'active', keys: { source: 'inline', kids: ['etl-es-1'] }, scopes: ['system/Observation.rs'], name: 'Reporting ETL' });
    expect(all[2]).toMatchObject({ clientId: 'lab-sync', keys: { source: 'jwks_uri', uri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/jwks\.json$/) } });

    const human = await cli('clients', 'list');
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CLIENT ID +STATUS +KEYS +SCOPES +NAME$/);
    expect(lines[1]).toMatch(/^backend-sync +active +inline kid backend-sync-2 +system\/\*\.rs +backend sync, key 2$/);
    expect(lines[2]).toMatch(/^etl-es384 +active +inline kid etl-es-1 +system\/Observation\.rs +Reporting ETL$/);
    expect(lines[3]).toMatch(/^lab-sync +active +jwks_uri http:\/\/127\.0\.0\.1:\d+\/jwks\.json +system\/Observation\.rs +-$/);
  });
});

describe('clients revoke', () => {
  test('revoked: the next assertion is invalid_client (401); the item stays, for audit; revoking twice changes nothing', async () => {
    // fhirgate --local clients revoke --client-id etl-es384
    const r = await cli('clients', 'revoke', '--client-id', 'etl-es384');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toBe(
      'Revoked backend client etl-es384; its registration stays in the registry (status revoked), for audit.\n' +
        'The token service refuses its next assertion (invalid_client). Tokens already issued are not checked against the registry: ' +
        `they stay valid until they expire (at most 300 s), and API Gateway may serve its cached decision ${TEST_CACHE_TTL.authorizer} s longer: ` +
        `every request of this client is refused within ${300 + TEST_CACHE_TTL.authorizer} s.\n`,
    );
    // Signed with its registered key, and still refused: the registration says revoked.
    expect(await tokenRequest(clientKey('ES384', 'etl-es-1'), 'etl-es384')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await registered()).find((c) => c.clientId === 'etl-es384')).toMatchObject({ status: 'revoked', keys: { kids: ['etl-es-1'] } });

    const twice = await cli('--json', 'clients', 'revoke', '--client-id', 'etl-es384');
    expect({ code: twice.code, body: json(twice) }).toEqual({ code: 0, body: { clientId: 'etl-es384', status: 'revoked', changed: false } });
  });

  test('an allow-listed client: its next assertion is refused, a token issued before keeps working until it expires', async () => {
    const key = clientKey('ES384', 'backend-sync-3');
    expect((await cli('clients', 'register', '--client-id', 'backend-sync', '--jwks-file', await jwksFile('sync3.json', [publicJwk(key)]), '--scope', 'system/*.rs', '--replace')).code).toBe(0);
    const before = await tokenRequest(key, 'backend-sync');
    expect(before.status).toBe(200);

    expect((await cli('clients', 'revoke', '--client-id', 'backend-sync')).code).toBe(0);
    expect(await tokenRequest(key, 'backend-sync')).toEqual(REVOKED);
    // The authorizer does not read the registry: an issued token lives out its ≤ 300 s (the CLI says so).
    expect((await gatewayGet(stack, before.body.access_token, 'Patient')).status).toBe(200);

    // A revoked client may be registered again without --replace (only an active one is protected).
    expect((await cli('clients', 'register', '--client-id', 'backend-sync', '--jwks-file', join(files, 'sync3.json'), '--scope', 'system/*.rs')).stdout).toMatch(
      /^Replaced the registration of backend client backend-sync \(was revoked\)\n/,
    );
    expect((await tokenRequest(key, 'backend-sync')).status).toBe(200);
  });

  test('an unknown client id: exit 1, one line', async () => {
    const r = await cli('clients', 'revoke', '--client-id', 'nobody');
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 1, stderr: 'fhirgate: no backend client nobody in the registry (see fhirgate clients list)\n', stdout: '' });
  });
});

describe('--stack and --help', () => {
  test('--stack: the registry is the ClientsTableName output; a stack without it is told so (exit 1)', async () => {
    const base = { UserPoolId: stack.info.cognito.userPoolId, WebClientId: stack.info.cognito.webClientId, LinksTableName: stack.info.dynamodb.linksTable };
    const cfn = await startFakeCloudFormation({
      'fhirgate-new': { ...base, ClientsTableName: stack.info.dynamodb.clientsTable, TokenExchangeUrl: 'https://api.example.com/prod/auth/token' },
      'fhirgate-old': base,
    });
    try {
      // DynamoDB is the local stack's (dynalite), through the SDK's standard endpoint override.
      const env = awsEnv({ AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url, AWS_ENDPOINT_URL_DYNAMODB: stack.info.dynamodb.endpoint });
      const listed = await runCli(['--stack', 'fhirgate-new', '--json', 'clients', 'list'], { env });
      expect(json<any[]>(listed).map((c) => c.clientId)).toEqual(['backend-sync', 'etl-es384', 'lab-sync', 'sync-rs384']);

      const key = clientKey('ES384', 'aws-1');
      const r = await runCli(['--stack', 'fhirgate-new', 'clients', 'register', '--client-id', 'aws-client', '--jwks-file', await jwksFile('aws.json', [publicJwk(key)]), '--scope', 'system/*.rs'], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('  token URL  https://api.example.com/prod/auth/token\n');
      // The stack does not say its allow-list: the CLI states the rule, and no guess about it.
      expect(r.stdout).toMatch(/set through the CDK setting backendClientIds; until then the token service answers it unauthorized_client\.\n$/);

      const old = await runCli(['--stack', 'fhirgate-old', 'clients', 'list'], { env });
      expect({ code: old.code, stderr: old.stderr }).toEqual({
        code: 1,
        stderr: 'fhirgate: stack fhirgate-old (us-east-1) has no backend client registry (no output ClientsTableName: deploy the current fhirgate stack)\n',
      });
    } finally {
      await cfn.close();
    }
  });

  test('--help for every clients command (exit 0, global options shown)', async () => {
    for (const command of [['clients'], ['clients', 'register'], ['clients', 'list'], ['clients', 'revoke']]) {
      const r = await runCli([...command, '--help']);
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(r.stdout).toContain(`Usage: fhirgate ${command.join(' ')}`);
      expect(r.stdout).toMatch(/--local[\s\S]*--stack <name>[\s\S]*--json/);
    }
  });
});
