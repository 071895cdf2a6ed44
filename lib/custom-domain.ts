/**
 * TLS of the public API, and an optional custom domain in front of it.
 *
 * Security policy: API Gateway's regional endpoints default to the legacy `TLS_1_0` policy
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies-list.html,
 * "Default security policies"). fhirgate sets an enhanced policy on the REST API itself and on the
 * custom domain: `SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09` accepts TLS 1.3 and TLS 1.2 with
 * forward-secret AES-GCM suites only (ECDHE) and a post-quantum hybrid key exchange — the strictest
 * policy for regional endpoints in the installed aws-cdk-lib that still admits TLS 1.2 clients.
 * `SecurityPolicy_TLS13_1_3_2025_09` (TLS 1.3 only) is the stricter opt-in. An enhanced policy
 * needs an endpoint access mode; STRICT also refuses requests whose SNI does not match the host
 * and requests arriving from another endpoint type
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html,
 * "Endpoint access mode").
 *
 * Custom domain: a regional API Gateway domain name (ACM certificate in the stack's region) whose
 * root maps to the stage, so `https://{domain}/fhir` is the FHIR base and `https://{domain}/auth`
 * the token issuer. The default `execute-api` endpoint is switched off unless the operator keeps
 * it: with one public host, every URL fhirgate hands out (Bundle links, discovery, `iss`/`aud` of
 * exchanged tokens) names the host the caller uses. A Route 53 alias is created when a hosted zone
 * is given; otherwise point a CNAME at the `CustomDomainTarget` output.
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** The policies fhirgate accepts for its regional API and domain: enhanced, regional, TLS 1.2 at least. */
export const REGIONAL_SECURITY_POLICIES: readonly apigw.SecurityPolicy[] = [
  apigw.SecurityPolicy.TLS13_1_2_PFS_PQ_2025_09,
  apigw.SecurityPolicy.TLS13_1_2_PQ_2025_09,
  apigw.SecurityPolicy.TLS13_1_3_2025_09,
  apigw.SecurityPolicy.TLS13_1_3_FIPS_2025_09,
];

/** TLS 1.3, or TLS 1.2 with ECDHE + AES-GCM only (forward secrecy), post-quantum hybrid key exchange. */
export const DEFAULT_SECURITY_POLICY = apigw.SecurityPolicy.TLS13_1_2_PFS_PQ_2025_09;

/** What the operator provides for a custom domain. */
export interface CustomDomainOptions {
  /** Lower-case DNS name the API answers on, e.g. `fhir.example.org` (API Gateway refuses upper case). */
  readonly domainName: string;
  /** ARN of an ACM certificate for `domainName`, in the stack's region (a regional endpoint needs a regional certificate). */
  readonly certificateArn: string;
  /**
   * Route 53 hosted zone to create the alias A record in (the regional endpoint is IPv4).
   * @default - none: point a CNAME for `domainName` at the `CustomDomainTarget` output
   */
  readonly hostedZone?: { readonly hostedZoneId: string; readonly zoneName: string };
  /**
   * Switch off the default `https://{api}.execute-api.{region}.amazonaws.com/{stage}` endpoint
   * (API Gateway then answers it 403). The authorizer fetches the exchange JWKS through the custom
   * domain, so the domain must resolve before exchanged tokens are accepted.
   * @default true
   */
  readonly disableExecuteApiEndpoint?: boolean;
}

export interface FhirgateDomainProps extends CustomDomainOptions {
  readonly restApi: apigw.RestApi;
  /** @default DEFAULT_SECURITY_POLICY */
  readonly securityPolicy?: apigw.SecurityPolicy;
}

/** A regional custom domain with an enhanced TLS policy, its root mapped to the API's stage. */
export class FhirgateDomain extends Construct {
  readonly domain: apigw.DomainName;
  /** `https://{domainName}` */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: FhirgateDomainProps) {
    super(scope, id);
    this.domain = new apigw.DomainName(this, 'DomainName', {
      domainName: props.domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      endpointType: apigw.EndpointType.REGIONAL,
      securityPolicy: props.securityPolicy ?? DEFAULT_SECURITY_POLICY,
      endpointAccessMode: apigw.EndpointAccessMode.STRICT,
    });
    // The domain root is the stage: https://{domain}/fhir, https://{domain}/auth/token.
    this.domain.addBasePathMapping(props.restApi, { stage: props.restApi.deploymentStage });
    // The literal name, not the resource's Ref: the URLs go into function environments, which
    // then need not wait for the domain (or its certificate validation) to be created.
    this.origin = `https://${props.domainName}`;

    if (props.hostedZone) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', props.hostedZone);
      new route53.ARecord(this, 'Alias', { zone, recordName: props.domainName, target: route53.RecordTarget.fromAlias(new targets.ApiGatewayDomain(this.domain)) });
    }
  }
}
