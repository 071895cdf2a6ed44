/**
 * The authorizer's cold-start floor: a Lambda that only verifies the token with aws-jwt-verify
 * (the JWKS fetched at init, as its README recommends) and answers Allow. Bundled and spawned
 * exactly like fhirgate's authorizer (bench/cold-start.ts); no fhirgate code.
 *
 * The JWKS is served over loopback HTTP in the bench, which aws-jwt-verify's HTTPS fetcher
 * refuses; the floor fetches it with the global fetch, as fhirgate's loopback fetcher does.
 *
 * Env: FLOOR_ISSUER, FLOOR_JWKS_URI.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

const jwksCache = new SimpleJwksCache({ fetcher: { fetch: async (uri: string) => (await fetch(uri)).arrayBuffer() } });
const verifier = JwtVerifier.create({ issuer: process.env.FLOOR_ISSUER!, jwksUri: process.env.FLOOR_JWKS_URI!, audience: null }, { jwksCache });
const hydrated = verifier.hydrate();

export const handler = async (event: { authorizationToken: string; methodArn: string }) => {
  await hydrated;
  const payload = await verifier.verify(event.authorizationToken.slice('Bearer '.length));
  return {
    principalId: String(payload.sub),
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
  };
};
