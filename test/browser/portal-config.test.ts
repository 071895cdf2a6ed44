/**
 * The portal's config.json: five values, checked before the app uses them; and the same config
 * from a deployed stack's `cdk deploy --outputs-file`.
 */
import { parsePortalConfig, portalConfigFromCdkOutputs } from '../../examples/patient-portal/src/config';

const LOCAL = {
  region: 'us-east-1',
  userPoolId: 'local_0GwXmDGb',
  webClientId: '4l7eoccl17hsjqj5eqpr2sln7',
  cognitoEndpoint: 'http://127.0.0.1:9229',
  fhirBaseUrl: 'http://127.0.0.1:3000/fhir',
};

test('the local stack\'s config (with a Cognito endpoint) is accepted as is', () => {
  expect(parsePortalConfig(LOCAL)).toEqual(LOCAL);
});

test('a deployed config has no cognitoEndpoint; a trailing slash on a URL is dropped', () => {
  const { cognitoEndpoint: _, ...deployed } = LOCAL;
  expect(parsePortalConfig({ ...deployed, fhirBaseUrl: 'https://api.example.com/prod/fhir/' })).toEqual({ ...deployed, fhirBaseUrl: 'https://api.example.com/prod/fhir' });
});

test.each([
  ['not an object', 'config', /JSON object/],
  ['a missing field', { ...LOCAL, webClientId: undefined }, /"webClientId" must be a non-empty string/],
  ['a FHIR base that is not a URL', { ...LOCAL, fhirBaseUrl: '/fhir' }, /"fhirBaseUrl" must be an http\(s\) URL/],
  ['a user pool id of the wrong shape', { ...LOCAL, userPoolId: 'pool' }, /"userPoolId" "pool" is not a user pool id/],
])('%s → TypeError naming the field', (_name, value, message) => {
  expect(() => parsePortalConfig(value)).toThrow(message);
});

test('from CDK outputs: FhirBaseUrl, UserPoolId, WebClientId; the region from the pool id', () => {
  const outputs = { Fhirgate: { FhirBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/fhir', UserPoolId: 'eu-west-1_AbC123', WebClientId: 'client', LinksTableName: 'x' } };
  expect(portalConfigFromCdkOutputs(outputs)).toEqual({
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_AbC123',
    webClientId: 'client',
    fhirBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/fhir',
  });
  expect(() => portalConfigFromCdkOutputs({ ...outputs, Other: {} })).toThrow(/name the stack \(found Fhirgate, Other\)/);
  expect(portalConfigFromCdkOutputs({ ...outputs, Other: {} }, 'Fhirgate').userPoolId).toBe('eu-west-1_AbC123');
});
