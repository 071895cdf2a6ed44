/**
 * A local Amazon Cognito for the local stack and the tests: cognito-local in a child process,
 * a user pool provisioned through the AWS SDK, and a Cognito-shaped client_credentials endpoint
 * beside it whose tokens carry the pool's own issuer and verify with the pool's JWKS.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { cognitoClientDirectory } from './client-directory';
import { spawnCognitoLocal } from './process';
import { CognitoGroup, MachineClientSpec, provisionPool, UserSpec, validateSpecs } from './provision';
import { createBrokerClient, createManagedLogin, setBrokerCallback } from './managed-login';
import { cognitoLocalSigner } from './signing-key';
import { startTokenEndpoint } from './token-endpoint';

export interface LocalCognitoOptions {
  /** Working directory of cognito-local (e.g. `.local/cognito`); its `.cognito/db` is wiped first. */
  readonly dir: string;
  /** cognito-local's port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** The client_credentials endpoint's port on 127.0.0.1. @default 0 (any free port) */
  readonly tokenPort?: number;
  readonly users: readonly UserSpec[];
  readonly machineClients: readonly MachineClientSpec[];
  /** pino level for `<dir>/cognito-local.log`. @default 'info' */
  readonly logLevel?: string;
}

export interface LocalCognito {
  /** cognito-local's base URL, for the AWS SDK `endpoint`. */
  readonly endpoint: string;
  /** For the SDK only: cognito-local ignores it (its pool ids read `local_…`). */
  readonly region: string;
  readonly userPoolId: string;
  /** `http://127.0.0.1:<port>/<userPoolId>`: `iss` of user and machine tokens alike. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** The client_credentials endpoint (`http://127.0.0.1:<tokenPort>/oauth2/token`). */
  readonly tokenUrl: string;
  /** The managed login "domain" beside it (`http://127.0.0.1:<tokenPort>`: `/oauth2/authorize`, `/oauth2/token`). */
  readonly domain: string;
  /** fhirgate's sign-in broker: a confidential app client with the authorization code flow. */
  readonly broker: { readonly clientId: string; readonly clientSecret: string };
  /** Register fhirgate's `/auth/callback` as the broker's callback URL (known once the gateway listens). */
  setBrokerCallback(callbackUrl: string): Promise<void>;
  readonly webClientId: string;
  readonly users: readonly { username: string; password: string; group: CognitoGroup; sub: string }[];
  readonly machineClients: readonly { name: string; clientId: string; clientSecret: string; scopes: readonly string[] }[];
  /** cognito-local's process id. */
  readonly pid: number;
  /** cognito-local's log file. */
  readonly logFile: string;
  /** Stop the token endpoint and the child process; resolves when both are gone. */
  close(): Promise<void>;
}

/** Any value works: cognito-local neither checks SigV4 nor has accounts. */
const FAKE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REGION = 'us-east-1';

/** Start cognito-local from a clean data directory, provision the pool, start the token endpoint. */
export async function startLocalCognito(options: LocalCognitoOptions): Promise<LocalCognito> {
  validateSpecs(options.users, options.machineClients);
  const dir = resolve(options.dir);
  // Reproducible runs: cognito-local would otherwise reload every pool of earlier runs.
  rmSync(join(dir, '.cognito', 'db'), { recursive: true, force: true });
  const signer = cognitoLocalSigner(); // fails before spawning anything if the key files moved

  const child = await spawnCognitoLocal({ dir, port: options.port, logLevel: options.logLevel });
  const sdk = new CognitoIdentityProviderClient({ endpoint: child.endpoint, region: REGION, credentials: FAKE_CREDENTIALS, maxAttempts: 1 });
  try {
    const pool = await provisionPool(sdk, options);
    const issuer = `${child.endpoint}/${pool.userPoolId}`;
    const clients = cognitoClientDirectory(sdk, pool.userPoolId);
    const broker = await createBrokerClient(sdk, pool.userPoolId);
    const tokens = await startTokenEndpoint({
      issuer,
      signer,
      clients,
      port: options.tokenPort,
      managedLogin: createManagedLogin({ sdk, clients }),
    });
    let closing: Promise<void> | undefined;
    return {
      endpoint: child.endpoint,
      region: REGION,
      userPoolId: pool.userPoolId,
      issuer,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      tokenUrl: tokens.url,
      domain: `http://127.0.0.1:${tokens.port}`,
      broker,
      setBrokerCallback: (callbackUrl) => setBrokerCallback(sdk, pool.userPoolId, broker.clientId, callbackUrl),
      webClientId: pool.webClientId,
      users: pool.users,
      machineClients: pool.machineClients,
      pid: child.pid,
      logFile: child.logFile,
      close: () =>
        (closing ??= (async () => {
          await tokens.close();
          sdk.destroy();
          await child.stop();
        })()),
    };
  } catch (err) {
    sdk.destroy();
    await child.stop();
    throw err;
  }
}
