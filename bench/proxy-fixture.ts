/**
 * What the proxy benchmarks share: Alice's authorizer context, API Gateway proxy events for a
 * read and a search, and the backend bodies they answer with.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { DiscoveryConfig } from '../functions/fhir-proxy/discovery';
import { principalToContext } from '../functions/core/principal-context';
import { principalFromContext } from '../functions/core/principal-context';
import { ALICE } from './authorizer-hot';

export const BACKEND_BASE = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4';
export const API_DOMAIN = 'abcde12345.execute-api.us-east-1.amazonaws.com';

/** The proxy's discovery settings (served only by the public discovery routes; the bench never asks for them). */
export const BENCH_DISCOVERY: DiscoveryConfig = {
  issuer: `https://${API_DOMAIN}/prod/auth`,
  tokenEndpoint: `https://${API_DOMAIN}/prod/auth/token`,
  jwksUri: `https://${API_DOMAIN}/prod/auth/jwks.json`,
  backendServices: false,
  clientSecrets: false,
  scopesSupported: ['patient/*.rs'],
};

/** The context the authorizer gives Alice (patient, her own compartment, the role's default scopes). */
export const ALICE_CONTEXT = principalToContext(
  principalFromContext({ kind: 'patient', sub: ALICE.sub, clientId: 'web', fhirUser: ALICE.fhirUser!, patients: ALICE.patients.join(' '), scopes: 'patient/*.rs' }),
);

/** `GET /fhir/{path}` as API Gateway's proxy integration hands it to the proxy, after the authorizer allowed Alice. */
export function proxyEvent(path: string, query: Record<string, string> = {}): APIGatewayProxyEvent {
  const hasQuery = Object.keys(query).length > 0;
  return {
    httpMethod: 'GET',
    resource: '/fhir/{proxy+}',
    path: `/fhir/${path}`,
    pathParameters: { proxy: path },
    headers: { accept: 'application/fhir+json' },
    multiValueHeaders: { accept: ['application/fhir+json'] },
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'bench', stage: 'prod', domainName: API_DOMAIN, authorizer: ALICE_CONTEXT } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** Alice's Patient resource as the backend stores it. */
export function alicePatient(): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: 'pat-alice',
    meta: { versionId: '3', lastUpdated: '2024-01-05T08:00:00.000Z' },
    active: true,
    identifier: [{ system: 'urn:fhirgate:demo:mrn', value: 'MRN-100001' }],
    name: [{ use: 'official', family: 'Synthetic', given: ['Alice'] }],
    telecom: [{ system: 'phone', value: '+1-555-0100', use: 'home' }],
    gender: 'female',
    birthDate: '1985-04-12',
    address: [{ line: ['1 Main St'], city: 'Springfield', postalCode: '12345', country: 'US' }],
    generalPractitioner: [{ reference: 'Practitioner/prac-1' }],
    managingOrganization: { reference: 'Organization/org-1' },
  };
}
