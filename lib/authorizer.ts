/**
 * The TOKEN authorizer Lambda (functions/authorizer): verifies Cognito and exchanged tokens,
 * reads the caller's link record, returns a path-independent policy. Its only data permission is
 * `dynamodb:GetItem` on the links table (and decrypting with the table's key through DynamoDB).
 */
import { Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../functions/adapters/authz-config';
import type { TrustedIssuer } from '../functions/adapters/verifier';
import type { AuthzSettings } from '../functions/core/settings';
import { FhirgateFunction } from './fhirgate-function';
import { FUNCTION_ENTRIES } from './function-bundle';
import type { LinksTable } from './links-table';

/** Who the authorizer (and the token exchange) trust, and the links they read. */
export interface TrustConfig {
  /** Cognito pools and fhirgate's own exchange issuer. */
  readonly issuers: readonly TrustedIssuer[];
  readonly userClientIds: readonly string[];
  readonly machineClientIds: readonly string[];
  /** Registered private_key_jwt clients allowed to reach the FHIR API (FhirgateSettings.backendClientIds). */
  readonly backendClientIds: readonly string[];
  readonly links: LinksTable;
  readonly linkCacheTtlSeconds: number;
  readonly authz: AuthzSettings;
}

/** The environment both functions read with `functions/adapters/authz-config.ts` (names from its ENV). */
export function trustEnvironment(trust: TrustConfig, stack: Stack): Record<string, string> {
  return {
    [ENV.issuers]: stack.toJsonString(trust.issuers),
    [ENV.userClientIds]: trust.userClientIds.join(','),
    [ENV.machineClientIds]: trust.machineClientIds.join(','),
    // Unset rather than empty when none: an empty allow-list is the handlers' default.
    ...(trust.backendClientIds.length > 0 ? { [ENV.backendClientIds]: trust.backendClientIds.join(',') } : {}),
    [ENV.linksTable]: trust.links.table.tableName,
    [ENV.linkCacheTtlSeconds]: String(trust.linkCacheTtlSeconds),
    [ENV.settings]: JSON.stringify(trust.authz),
  };
}

/** Options every fhirgate function construct passes through to `FhirgateFunction`. */
export interface FunctionOptions {
  readonly logKey: kms.IKey;
  readonly logRetention?: logs.RetentionDays;
  readonly reservedConcurrency?: number;
  readonly sourceMap?: boolean;
}

export interface FhirgateAuthorizerProps extends FunctionOptions {
  readonly trust: TrustConfig;
}

export class FhirgateAuthorizer extends Construct {
  readonly function: FhirgateFunction;

  constructor(scope: Construct, id: string, props: FhirgateAuthorizerProps) {
    super(scope, id);
    this.function = new FhirgateFunction(this, 'Function', {
      entry: FUNCTION_ENTRIES.authorizer,
      purpose: 'token authorizer',
      environment: trustEnvironment(props.trust, Stack.of(this)),
      logKey: props.logKey,
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      sourceMap: props.sourceMap,
    });
    this.function.allow(...props.trust.links.getItemStatements());
  }
}
