/**
 * The token service Lambda (functions/token-exchange): RFC 8693 token exchange at
 * `POST /auth/token` and the JWKS of the tokens it issues at `GET /auth/jwks.json`. It signs with
 * an asymmetric KMS key (ECC_NIST_P256, ES256) whose private half never leaves KMS; its only
 * permissions are kms:Sign/kms:GetPublicKey on that key and reading links like the authorizer.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { EXCHANGE_ENV } from '../functions/token-exchange/config';
import { FunctionOptions, TrustConfig, trustEnvironment } from './authorizer';
import { FhirgateFunction } from './fhirgate-function';

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
    this.function = new FhirgateFunction(this, 'Function', {
      entry: 'functions/token-exchange/index.ts',
      purpose: 'token exchange',
      environment: {
        ...trustEnvironment(props.trust, Stack.of(this)),
        [EXCHANGE_ENV.issuer]: props.issuer,
        [EXCHANGE_ENV.audience]: props.audience,
        [EXCHANGE_ENV.delegationScope]: props.delegationScope,
        [EXCHANGE_ENV.lifetimeSeconds]: String(props.lifetimeSeconds),
        [EXCHANGE_ENV.signingKeyId]: this.signingKey.keyArn,
        ...(retiring.length > 0 ? { [EXCHANGE_ENV.retiringKeyIds]: retiring.join(',') } : {}),
      },
      logKey: props.logKey,
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      sourceMap: props.sourceMap,
    });
    this.function.allow(
      new iam.PolicyStatement({ actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [this.signingKey.keyArn] }),
      ...retiring.map((arn) => new iam.PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [arn] })),
      ...props.trust.links.getItemStatements(),
    );
  }
}
