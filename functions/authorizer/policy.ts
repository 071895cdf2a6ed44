/**
 * The IAM policy a TOKEN authorizer returns.
 *
 * API Gateway caches the authorizer result per token and reuses it for every method and path of
 * the API, so the policy must not depend on the method ARN's method or path: it names the whole
 * FHIR route tree of this API and stage. Only the API id, region, account and stage are taken
 * from the method ARN, and those are the same for every request the cache entry serves.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { AuthorizerContext } from '../core/principal-context';

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path…}` */
const METHOD_ARN = /^(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+)\/([^/]+)\/[A-Z*]+(\/.*)?$/;

/**
 * The resource patterns covering every FHIR route of the API/stage the method ARN belongs to:
 * the FHIR base itself (`POST /fhir` carries batch/transaction Bundles) and everything below it.
 */
export function fhirRoutesResource(methodArn: string): string[] {
  let routes = routesByArn.get(methodArn);
  if (routes === undefined) {
    const m = METHOD_ARN.exec(methodArn);
    if (!m) throw new TypeError(`not an execute-api method ARN: ${methodArn}`);
    routes = [`${m[1]}/${m[2]}/*/fhir`, `${m[1]}/${m[2]}/*/fhir/*`];
    if (routesByArn.size >= 256) routesByArn.clear();
    routesByArn.set(methodArn, routes);
  }
  return [routes[0]!, routes[1]!];
}

/** The same ARN (one route, one stage) arrives on every cache miss: parsed once, bounded. */
const routesByArn = new Map<string, readonly string[]>();

/** An Allow or Deny policy over the FHIR routes, with the principal as context. */
export function fhirPolicy(
  effect: 'Allow' | 'Deny',
  principalId: string,
  methodArn: string,
  context: AuthorizerContext = {},
): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: fhirRoutesResource(methodArn) }],
    },
    // Both callers build the context for this one result; it is not shared, so it is not copied.
    context,
  };
}
