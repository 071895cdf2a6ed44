/**
 * Lambda entry for the token service: the environment read once per container and the wiring
 * (`wire.ts`) built at module scope with the AWS adapters (DynamoDB, KMS, Cognito managed login
 * for SMART App Launch). A bad or missing variable fails the cold start.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { createDynamoClient } from '../adapters/dynamo-client';
import { countKmsThrottles } from '../adapters/kms-throttles';
import { extensionSecret } from '../adapters/secrets-extension';
import { createTokenVerifier } from '../adapters/verifier';
import { emfMetrics } from '../common/emf-metrics';
import { jsonLogger } from '../common/log';
import { METRIC_SERVICES } from '../common/metrics';
import { appLaunchConfigFromEnv } from './app-launch-config';
import { DynamoAppRegistry } from './app-registry';
import { tokenServiceConfigFromEnv } from './config';
import { AppLaunchServiceDeps, ProxyHandler, TOKEN_SERVICE_ROUTES } from './handler';
import { createKmsSigner, type KmsApi } from './kms-signer';
import { DynamoLaunchStore } from './launch-store';
import { createCognitoBroker } from './sign-in-broker';
import { buildTokenService } from './wire';

const config = tokenServiceConfigFromEnv(process.env);
// Token issuance metrics as EMF lines written by fhirgate itself, and fhirgate's own jsonLogger:
// Powertools Metrics (~16 KB) and Logger (~24 KB) would take this bundle over its 100 KB budget.
const metrics = emfMetrics(METRIC_SERVICES.tokenService);
const { authz } = config;

// Every outbound call has a deadline: a slow dependency fails the request, it does not hang it.
const dynamo = createDynamoClient({ endpoint: authz.dynamoEndpoint });
const kms = new KMSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 2000 } });

// SMART App Launch, when its tables and the broker client are configured: sign-in through Cognito
// managed login with the broker (a confidential client, so its code is useless to anyone else).
const launch = appLaunchConfigFromEnv(process.env);
const issuerBase = config.policy.issuer.replace(/\/+$/, '');
const appLaunch: AppLaunchServiceDeps | undefined = launch && {
  apps: new DynamoAppRegistry(dynamo, launch.appsTable),
  store: new DynamoLaunchStore(dynamo, launch.launchTable),
  broker: createCognitoBroker({
    domain: launch.cognitoDomain,
    clientId: launch.brokerClientId,
    // In AWS, a Secrets Manager secret read through the Parameters and Secrets extension: not in the environment.
    clientSecret: 'secretId' in launch.brokerSecret ? extensionSecret({ secretId: launch.brokerSecret.secretId }) : launch.brokerSecret.value,
    // The issuer is `<api>/auth`; the callback is the route beside the token endpoint.
    callbackUrl: `${issuerBase}${TOKEN_SERVICE_ROUTES.callback.slice('/auth'.length)}`,
    verifier: createTokenVerifier({ issuers: authz.issuers, clientIds: [launch.brokerClientId] }),
  }),
  policy: { ...launch.policy, issuer: config.policy.issuer, audience: config.policy.audience },
};

export const handler: ProxyHandler = buildTokenService(config, {
  dynamo,
  // A throttled Sign is answered 503, not a Lambda error: counted for the KMS throttling alarm.
  signer: (keyId) => createKmsSigner({ client: countKmsThrottles<Parameters<KmsApi['send']>[0]>(kms, metrics), keyId }),
  log: jsonLogger,
  metrics,
  ...(appLaunch ? { appLaunch } : {}),
});
