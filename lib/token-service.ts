/**
 * The token service Lambda (functions/token-exchange): RFC 8693 token exchange and, with its
 * client tables, SMART Backend Services `client_credentials` with private_key_jwt assertions
 * (RFC 7523) at `POST /auth/token`, and the JWKS of the tokens it issues at `GET /auth/jwks.json`;
 * with `appLaunch`, also the SMART App Launch authorization server for browser apps.
 * It signs with an asymmetric KMS key (ECC_NIST_P256, ES256) whose private half never leaves KMS;
 * its only permissions are kms:Sign/kms:GetPublicKey on that key, reading links like the
 * authorizer, GetItem on the client registry and PutItem on the assertion replay store, and with
 * App Launch the app tables' calls (lib/app-tables.ts) and GetSecretValue on the broker secret.
 * It is not in a VPC: it fetches registered clients' JWKS URLs from the internet.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { validateOrigins } from '../functions/common/cors';
import { EXCHANGE_ENV } from '../functions/token-exchange/config';
import { FunctionOptions, TrustConfig, trustEnvironment } from './authorizer';
import type { AppLaunch } from './app-launch';
import type { BackendClientTables } from './client-tables';
import { FhirgateFunction } from './fhirgate-function';
import { FUNCTION_ENTRIES } from './function-bundle';

/** SMART Backend Services (private_key_jwt) clients: where they are registered, and the `aud` of their assertions. */
export interface BackendClientsConfig {
  readonly tables: BackendClientTables;
  /** The public URL of `POST /auth/token`: the `aud` every client assertion must carry (RFC 7523 §3 item 3). */
  readonly tokenUrl: string;
}

export interface TokenServiceProps extends FunctionOptions {
  readonly trust: TrustConfig;
  /** `iss` of issued tokens. */
  readonly issuer: string;
  /** `aud` of issued tokens: the public FHIR base URL. */
  readonly audience: string;
  /** The Cognito scope a machine client needs to act for users. */
  readonly delegationScope: string;
  readonly lifetimeSeconds: number;
  /**
   * ARNs of previous signing keys whose public halves stay in the JWKS until the tokens they
   * signed have expired (key rotation). They can only be read (GetPublicKey), never used to sign.
   * @default []
   */
  readonly retiringSigningKeyArns?: readonly string[];
  /**
   * Accept `grant_type=client_credentials` with client assertions from the clients registered in
   * these tables (which clients may then reach the FHIR API is `trust.backendClientIds`).
   * @default - none: the token service only exchanges tokens
   */
  readonly backendClients?: BackendClientsConfig;
  /**
   * Cognito's `/oauth2/token`: `client_credentials` with a client secret sent to `/auth/token` is
   * forwarded there, so the one advertised token endpoint accepts every advertised method.
   * @default - none: client secrets are refused at /auth/token (invalid_client)
   */
  readonly cognitoTokenUrl?: string;
  /**
   * SMART App Launch (`/auth/authorize`, `/auth/callback`, `/auth/picker`, the
   * `authorization_code` and `refresh_token` grants): its tables, broker and secret.
   * @default - none: App Launch is not served
   */
  readonly appLaunch?: AppLaunch;
  /**
   * Browser origins allowed to call the token endpoint, the JWKS and the metadata (the proxy's
   * allow-list: a SMART app in a browser redeems its code with `fetch`).
   * @default [] (no CORS headers)
   */
  readonly corsAllowedOrigins?: readonly string[];
}

export class TokenService extends Construct {
  readonly function: FhirgateFunction;
  /** ECC_NIST_P256 / SIGN_VERIFY key that signs exchanged tokens. */
  readonly signingKey: kms.Key;

  constructor(scope: Construct, id: string, props: TokenServiceProps) {
    super(scope, id);
    this.signingKey = new kms.Key(this, 'SigningKey', {
      description: 'fhirgate exchanged-token signing (ES256)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Tokens it signed live at most 5 minutes; after that nothing depends on it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const retiring = props.retiringSigningKeyArns ?? [];
    const backend = props.backendClients;
    const appLaunch = props.appLaunch;
    const corsOrigins = validateOrigins(props.corsAllowedOrigins ?? []);
    this.function = new FhirgateFunction(this, 'Function', {
      entry: FUNCTION_ENTRIES['token-exchange'],
      purpose: 'token exchange',
      environment: {
        ...trustEnvironment(props.trust, Stack.of(this)),
        [EXCHANGE_ENV.issuer]: props.issuer,
        [EXCHANGE_ENV.audience]: props.audience,
        [EXCHANGE_ENV.delegationScope]: props.delegationScope,
        [EXCHANGE_ENV.lifetimeSeconds]: String(props.lifetimeSeconds),
        [EXCHANGE_ENV.signingKeyId]: this.signingKey.keyArn,
        ...(retiring.length > 0 ? { [EXCHANGE_ENV.retiringKeyIds]: retiring.join(',') } : {}),
        ...(backend
          ? {
              [EXCHANGE_ENV.clientsTable]: backend.tables.clients.tableName,
              [EXCHANGE_ENV.replayTable]: backend.tables.replay.tableName,
              [EXCHANGE_ENV.tokenUrl]: backend.tokenUrl,
            }
          : {}),
        ...(props.cognitoTokenUrl ? { [EXCHANGE_ENV.cognitoTokenUrl]: props.cognitoTokenUrl } : {}),
        ...(appLaunch ? appLaunch.tokenServiceEnvironment() : {}),
        ...(corsOrigins.length > 0 ? { [EXCHANGE_ENV.corsOrigins]: corsOrigins.join(',') } : {}),
      },
      // Client JWKS URLs are any https host a client registered, not only AWS endpoints.
      ...(backend
        ? { outboundCalls: `Cognito JWKS and token endpoint, DynamoDB, KMS,${appLaunch ? ' Secrets Manager (through the Parameters and Secrets extension),' : ''} and the https JWKS URLs of registered backend clients, on any internet host` }
        : {}),
      ...(appLaunch ? { paramsAndSecrets: appLaunch.paramsAndSecrets } : {}),
      logKey: props.logKey,
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      sourceMap: props.sourceMap,
    });
    this.function.allow(
      new iam.PolicyStatement({ actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [this.signingKey.keyArn] }),
      ...retiring.map((arn) => new iam.PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [arn] })),
      ...props.trust.links.getItemStatements(),
      ...(backend ? backend.tables.tokenServiceStatements() : []),
      ...(appLaunch ? appLaunch.tokenServiceStatements() : []),
    );
  }
}
