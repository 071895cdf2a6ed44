/**
 * The FHIR proxy Lambda (functions/fhir-proxy), the policy enforcement point. It holds the
 * FHIR permissions on the one HealthLake data store (none for a URL backend) and signs paging
 * links with a KMS HMAC key it can only GenerateMac/VerifyMac with: no secret in its environment.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { AuthzSettings } from '../functions/core/settings';
import { PROXY_ENV } from '../functions/fhir-proxy/config';
import type { DiscoveryConfig } from '../functions/fhir-proxy/discovery';
import { validateOrigins } from '../functions/common/cors';
import type { FunctionOptions } from './authorizer';
import type { FhirBackend } from './fhir-backend';
import { FhirgateFunction } from './fhirgate-function';
import { FUNCTION_ENTRIES } from './function-bundle';
import { PROXY_NODE_FLAGS } from './runtime-flags';

/** The proxy's memory: JSON parsing and filtering of whole Bundles; more memory is also more CPU. */
export const PROXY_MEMORY_MB = 1024;

export interface FhirProxyProps extends FunctionOptions {
  readonly backend: FhirBackend;
  readonly authz: AuthzSettings;
  readonly discovery: DiscoveryConfig;
  /**
   * Milliseconds the proxy waits for the FHIR backend (API Gateway gives up at 29 s).
   * @default 20000
   */
  readonly backendTimeoutMs?: number;
  /**
   * Browser origins the proxy answers CORS requests and preflights for (exact, never `*`).
   * @default [] (no CORS headers on any response)
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * The public FHIR base the proxy writes into Bundle links, Location headers and its
   * CapabilityStatement. Needed behind a custom domain, where the request's own host and stage
   * (`https://{domainName}/{stage}/fhir`) are not the public base.
   * @default - derived from each request (the execute-api endpoint)
   */
  readonly publicBaseUrl?: string;
}

export class FhirProxy extends Construct {
  readonly function: FhirgateFunction;
  /** HMAC_256 key for paging-link MACs. */
  readonly pagingKey: kms.Key;

  constructor(scope: Construct, id: string, props: FhirProxyProps) {
    super(scope, id);
    this.pagingKey = new kms.Key(this, 'PagingKey', {
      description: 'fhirgate paging-link MACs',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      // It protects nothing at rest: links it signed simply stop verifying once it is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const backendTimeoutMs = props.backendTimeoutMs ?? 20_000;
    const corsOrigins = validateOrigins(props.corsAllowedOrigins ?? []);
    this.function = new FhirgateFunction(this, 'Function', {
      entry: FUNCTION_ENTRIES['fhir-proxy'],
      purpose: 'FHIR proxy (PEP)',
      memorySize: PROXY_MEMORY_MB,
      nodeFlags: PROXY_NODE_FLAGS,
      timeout: Duration.millis(backendTimeoutMs + 5_000),
      environment: {
        [PROXY_ENV.backendUrl]: props.backend.baseUrl,
        ...(props.backend.sigv4Region ? { [PROXY_ENV.sigv4Region]: props.backend.sigv4Region } : {}),
        [PROXY_ENV.settings]: JSON.stringify(props.authz),
        [PROXY_ENV.pagingKmsKeyId]: this.pagingKey.keyArn,
        [PROXY_ENV.discovery]: Stack.of(this).toJsonString(props.discovery),
        [PROXY_ENV.backendTimeoutMs]: String(backendTimeoutMs),
        ...(corsOrigins.length > 0 ? { [PROXY_ENV.corsOrigins]: corsOrigins.join(',') } : {}),
        ...(props.publicBaseUrl ? { [PROXY_ENV.publicBaseUrl]: props.publicBaseUrl } : {}),
      },
      logKey: props.logKey,
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      sourceMap: props.sourceMap,
    });
    this.function.allow(
      new iam.PolicyStatement({ actions: ['kms:GenerateMac', 'kms:VerifyMac'], resources: [this.pagingKey.keyArn] }),
      ...props.backend.proxyStatements(),
    );
  }
}
