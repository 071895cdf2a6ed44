/**
 * fhirgate's own CapabilityStatement (functions/fhir-proxy/discovery.ts): valid FHIR R4 according
 * to an R4 validator nobody here wrote (the `fhir` npm package), lists only what fhirgate serves,
 * and points SMART clients at the token service.
 */
import { Fhir } from 'fhir';
import { DEFAULT_SETTINGS } from '../../functions/core/settings';
import { isR4ResourceType } from '../../functions/core/resource-types';
import { capabilityStatement, DiscoveryConfig } from '../../functions/fhir-proxy/discovery';

const CONFIG: DiscoveryConfig = {
  issuer: 'https://api.example.com/prod/auth',
  tokenEndpoint: 'https://api.example.com/prod/auth/token',
  jwksUri: 'https://api.example.com/prod/auth/jwks.json',
  backendServices: true,
  clientSecrets: true,
  scopesSupported: ['system/*.rs'],
};
const statement = capabilityStatement(CONFIG, DEFAULT_SETTINGS, 'https://api.example.com/prod/fhir') as any;

test('the statement passes the R4 validator of the fhir package with no error', () => {
  const result = new Fhir().validate(statement);
  expect((result.messages ?? []).filter((m) => m.severity === 'error')).toEqual([]);
  expect(result.valid).toBe(true);
});

test('the validator does catch what the backend statement had (a non-R4 type): the check can fail', () => {
  const broken = { ...statement, rest: [{ ...statement.rest[0], resource: [{ type: 'SubscriptionStatus', interaction: [{ code: 'read' }] }] }] };
  expect(new Fhir().validate(broken).valid).toBe(false);
});

test('only R4 types, only served interactions: no history-system/history-type, no searchInclude, $everything on Patient', () => {
  const rest = statement.rest[0];
  const types = rest.resource.map((r: { type: string }) => r.type);
  expect(types.every(isR4ResourceType)).toBe(true);
  expect(types).toEqual(expect.arrayContaining(['Patient', 'Observation', ...DEFAULT_SETTINGS.sharedResourceTypes]));
  expect(types).not.toContain('SubscriptionStatus');
  expect(rest.interaction).toEqual([{ code: 'batch' }, { code: 'transaction' }]);
  for (const r of rest.resource) {
    expect(r.searchInclude).toBeUndefined();
    expect(r.interaction.map((i: { code: string }) => i.code)).not.toContain('history-type');
  }
  expect(rest.resource.find((r: { type: string }) => r.type === 'Patient').operation).toEqual([
    { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
    { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' },
  ]);
});

test('Bulk Data IG v2: the statement instantiates bulk-data and names the system, Patient and Group $export', () => {
  const bulk = 'http://hl7.org/fhir/uv/bulkdata';
  expect(statement.instantiates).toEqual([`${bulk}/CapabilityStatement/bulk-data`]);
  const rest = statement.rest[0];
  expect(rest.operation).toEqual([{ name: 'export', definition: `${bulk}/OperationDefinition/export` }]);
  expect(rest.resource.find((r: { type: string }) => r.type === 'Group').operation).toEqual([{ name: 'export', definition: `${bulk}/OperationDefinition/group-export` }]);
});

test('rest.security: the SMART-on-FHIR service coding and the oauth-uris extension naming the token service', () => {
  const security = statement.rest[0].security;
  expect(security.service[0].coding[0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' });
  expect(security.extension[0]).toEqual({
    url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
    extension: [{ url: 'token', valueUri: CONFIG.tokenEndpoint }],
  });
  expect(statement.implementation.url).toBe('https://api.example.com/prod/fhir');
});
