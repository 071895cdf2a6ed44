/**
 * The portal's config.json: the FHIR base and the SMART client id, checked before the app uses
 * them; and the same config from a deployed stack's `cdk deploy --outputs-file`.
 */
import { parsePortalConfig, portalConfigFromCdkOutputs } from '../../examples/patient-portal/src/config';

const LOCAL = { fhirBaseUrl: 'http://127.0.0.1:3000/fhir', clientId: 'patient-portal' };

test("the local stack's config is accepted as is; a trailing slash on the base is dropped", () => {
  expect(parsePortalConfig(LOCAL)).toEqual(LOCAL);
  expect(parsePortalConfig({ ...LOCAL, fhirBaseUrl: 'https://api.example.com/prod/fhir/' }).fhirBaseUrl).toBe('https://api.example.com/prod/fhir');
});

test.each([
  ['not an object', 'config', /JSON object/],
  ['a missing client id', { ...LOCAL, clientId: undefined }, /"clientId" must be a non-empty string/],
  ['a FHIR base that is not a URL', { ...LOCAL, fhirBaseUrl: '/fhir' }, /"fhirBaseUrl" must be an http\(s\) URL/],
])('%s → TypeError naming the field', (_name, value, message) => {
  expect(() => parsePortalConfig(value)).toThrow(message);
});

test('from CDK outputs: FhirBaseUrl and PortalClientId of the named (or only) stack', () => {
  const outputs = { Fhirgate: { FhirBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/fhir', PortalClientId: 'patient-portal', LinksTableName: 'x' } };
  expect(portalConfigFromCdkOutputs(outputs)).toEqual({ fhirBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/fhir', clientId: 'patient-portal' });
  expect(() => portalConfigFromCdkOutputs({ ...outputs, Other: {} })).toThrow(/name the stack \(found Fhirgate, Other\)/);
  expect(portalConfigFromCdkOutputs({ ...outputs, Other: {} }, 'Fhirgate').clientId).toBe('patient-portal');
  expect(() => portalConfigFromCdkOutputs({ Fhirgate: { FhirBaseUrl: outputs.Fhirgate.FhirBaseUrl } })).toThrow(/"clientId"/);
});
