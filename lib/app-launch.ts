/**
 * SMART App Launch in AWS: what the token service needs to be the authorization server of browser
 * apps (functions/token-exchange/authorize.ts), besides its routes (lib/api.ts) and the broker app
 * client (lib/identity.ts `addBrokerClient`):
 *
 * - the app registry and the launch state (lib/app-tables.ts);
 * - the broker's client secret in Secrets Manager, encrypted with the tables' customer-managed
 *   key. CloudFormation copies it from the client's `ClientSecret` attribute
 *   (AWS::Cognito::UserPoolClient return values), so it is in neither the template nor the
 *   function's environment (which holds the secret's ARN), and no custom resource reads it. The
 *   token service reads it at first use through the AWS Parameters and Secrets Lambda Extension
 *   layer (GetSecretValue on that one secret, Decrypt through Secrets Manager only): no Secrets
 *   Manager client in its bundle;
 * - the first-party apps the stack registers (lib/first-party-apps.ts);
 * - the grant policy: what each role may be granted through an app, token lifetimes.
 *
 * Cognito's managed login (the pool's domain, lib/identity.ts) is where users sign in.
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Role } from '../functions/core/settings';
import { APP_LAUNCH_ENV, appLaunchPolicyFromEnv } from '../functions/token-exchange/app-launch-config';
import { AppLaunchTables } from './app-tables';
import { FirstPartyApp, FirstPartyApps } from './first-party-apps';

export type { FirstPartyApp } from './first-party-apps';

/** The `appLaunch` stack prop. */
export interface AppLaunchOptions {
  /**
   * Deploy fhirgate's SMART App Launch authorization server (`/auth/authorize`, the broker client,
   * the app tables). Off: no browser sign-in route, and discovery advertises no launch capability.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Apps registered by the stack (the example portal, your own frontends). The first one's client
   * id is the `PortalClientId` output. More apps: `fhirgate apps register`.
   * @default [] (register apps with the CLI)
   */
  readonly firstPartyApps?: readonly FirstPartyApp[];
  /**
   * The most each role may be granted through an app, `patient/` scopes only (e.g. let patients
   * record their own Observations: `{ patient: ['patient/*.rs', 'patient/Observation.c'] }`); a
   * role left out stays read-only.
   * @default { patient: ['patient/*.rs'], guardian: ['patient/*.rs'], practitioner: ['patient/*.rs'] }
   */
  readonly roleScopes?: Partial<Record<Role, readonly string[]>>;
  /** Access token lifetime, 60..3600 seconds. @default 300 */
  readonly accessTokenSeconds?: number;
  /** Refresh token family lifetime with `offline_access`, 3600 s .. 365 days. @default 30 days */
  readonly offlineSeconds?: number;
}

/** The grant policy as the token service's environment (what `appLaunchPolicyFromEnv` reads). */
export function appLaunchPolicyEnvironment(options: AppLaunchOptions): Record<string, string> {
  return {
    ...(options.roleScopes ? { [APP_LAUNCH_ENV.roleScopes]: JSON.stringify(options.roleScopes) } : {}),
    ...(options.accessTokenSeconds !== undefined ? { [APP_LAUNCH_ENV.accessTokenSeconds]: String(options.accessTokenSeconds) } : {}),
    ...(options.offlineSeconds !== undefined ? { [APP_LAUNCH_ENV.offlineSeconds]: String(options.offlineSeconds) } : {}),
  };
}

/** Refuse what the token service would refuse at cold start (the same parser); TypeError. */
export function checkAppLaunchPolicy(options: AppLaunchOptions): void {
  appLaunchPolicyFromEnv(appLaunchPolicyEnvironment(options));
}

export interface AppLaunchProps {
  readonly options: AppLaunchOptions;
  /** The broker app client (`FhirgateIdentity.addBrokerClient`). */
  readonly broker: cognito.UserPoolClient;
  /** Managed login's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  readonly cognitoDomain: string;
  readonly logKey: kms.IKey;
  readonly logRetention?: logs.RetentionDays;
}

export class AppLaunch extends Construct {
  readonly tables: AppLaunchTables;
  /** The broker's client secret (the tables' key encrypts it). */
  readonly brokerSecret: secretsmanager.Secret;
  /** The Parameters and Secrets extension layer the token service runs with. */
  readonly paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion;
  /** The stack's first-party app registrations, when any. */
  readonly firstPartyApps?: FirstPartyApps;
  private readonly props: AppLaunchProps;

  constructor(scope: Construct, id: string, props: AppLaunchProps) {
    super(scope, id);
    this.props = props;
    checkAppLaunchPolicy(props.options);
    this.tables = new AppLaunchTables(this, 'Tables');
    const brokerClient = props.broker.node.defaultChild as cognito.CfnUserPoolClient;
    this.brokerSecret = new secretsmanager.Secret(this, 'BrokerSecret', {
      description: 'fhirgate SMART App Launch: client secret of the Cognito broker app client',
      encryptionKey: this.tables.key,
      // Fn::GetAtt ClientSecret: resolved by CloudFormation at deploy, never written into the template.
      secretStringValue: SecretValue.resourceAttribute(brokerClient.attrClientSecret),
    });
    const rotation =
      'The fhirgate SMART App Launch broker secret is the client secret Cognito generated for the broker app client, copied here by CloudFormation; a Secrets Manager rotation function cannot change it at Cognito. It is rotated with Cognito (AddUserPoolClientSecret: two secrets per client at once, put the new one here, then DeleteUserPoolClientSecret the old one), as docs/deploy.md describes';
    Validations.of(this.brokerSecret).acknowledge(
      { id: 'AwsSolutions-SMG4', reason: rotation },
      { id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason: rotation },
    );
    // The token service reads the secret per sign-in; the extension answers from its cache (5 min).
    this.paramsAndSecrets = lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
      cacheEnabled: true,
      secretsManagerTtl: Duration.minutes(5),
      logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
    });
    const apps = props.options.firstPartyApps ?? [];
    if (apps.length > 0) {
      this.firstPartyApps = new FirstPartyApps(this, 'FirstPartyApps', { apps, tables: this.tables, logKey: props.logKey, logRetention: props.logRetention });
    }
  }

  /** What the token service reads with `appLaunchConfigFromEnv` (functions/token-exchange/app-launch-config.ts). */
  tokenServiceEnvironment(): Record<string, string> {
    return {
      [APP_LAUNCH_ENV.appsTable]: this.tables.apps.tableName,
      [APP_LAUNCH_ENV.launchTable]: this.tables.launch.tableName,
      [APP_LAUNCH_ENV.cognitoDomain]: this.props.cognitoDomain,
      [APP_LAUNCH_ENV.brokerClientId]: this.props.broker.userPoolClientId,
      // Where the secret is, never what it is.
      [APP_LAUNCH_ENV.brokerSecretId]: this.brokerSecret.secretArn,
      ...appLaunchPolicyEnvironment(this.props.options),
    };
  }

  /** The token service's statements: the tables' (app-tables.ts), and reading this one secret. */
  tokenServiceStatements(): iam.PolicyStatement[] {
    return [
      ...this.tables.tokenServiceStatements(),
      new iam.PolicyStatement({ sid: 'ReadBrokerSecret', actions: ['secretsmanager:GetSecretValue'], resources: [this.brokerSecret.secretArn] }),
      new iam.PolicyStatement({
        sid: 'DecryptBrokerSecret',
        actions: ['kms:Decrypt'],
        resources: [this.tables.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.brokerSecret.stack.region}.amazonaws.com` } },
      }),
    ];
  }
}
