/**
 * The FHIR server behind the proxy: either an AWS HealthLake FHIR R4 data store created here
 * (SigV4-signed requests, encrypted with a customer-managed key) or an existing FHIR R4 base URL
 * (no HealthLake permission at all).
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as healthlake from 'aws-cdk-lib/aws-healthlake';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { healthLakeProxyActions } from './healthlake-actions';
import type { BackendSettings } from './settings';


export interface FhirBackendProps {
  readonly backend: BackendSettings;
  /** @default RemovalPolicy.RETAIN (the data store holds the clinical data) */
  readonly removalPolicy?: RemovalPolicy;
}

export class FhirBackend extends Construct {
  /** FHIR R4 base URL the proxy forwards to. */
  readonly baseUrl: string;
  /** The region to SigV4-sign for (HealthLake); undefined for a plain URL backend. */
  readonly sigv4Region?: string;
  /** The data store, when created here. */
  readonly datastore?: healthlake.CfnFHIRDatastore;
  /** The key that encrypts the data store, when created here. */
  readonly key?: kms.Key;

  constructor(scope: Construct, id: string, props: FhirBackendProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.backend.kind === 'url') {
      this.baseUrl = props.backend.url;
      return;
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.key = new kms.Key(this, 'Key', {
      description: 'fhirgate HealthLake data store encryption',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.datastore = new healthlake.CfnFHIRDatastore(this, 'Datastore', {
      datastoreTypeVersion: 'R4',
      datastoreName: props.backend.datastoreName ?? `${stack.stackName}-fhir`,
      // AWS_AUTH: HealthLake authorizes by IAM (SigV4); fhirgate is the SMART authorization layer.
      identityProviderConfiguration: { authorizationStrategy: 'AWS_AUTH' },
      sseConfiguration: { kmsEncryptionConfig: { cmkType: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyId: this.key.keyArn } },
    });
    this.datastore.applyRemovalPolicy(removalPolicy);
    this.baseUrl = this.datastore.attrDatastoreEndpoint;
    this.sigv4Region = stack.region;
  }

  /**
   * What the proxy role needs: the FHIR actions the PEP's calls need (healthlake-actions.ts) on this one data store, and the data store key
   * only as HealthLake uses it on the caller's behalf. Empty for a URL backend.
   */
  proxyStatements(): iam.PolicyStatement[] {
    if (!this.datastore || !this.key) return [];
    return [
      new iam.PolicyStatement({ actions: healthLakeProxyActions(), resources: [this.datastore.attrDatastoreArn] }),
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `healthlake.${Stack.of(this).region}.amazonaws.com` } },
      }),
    ];
  }
}
