/**
 * The settings file's JSON Schema (docs/settings.schema.json) is generated from the schema the
 * Lambdas validate with (core/settings.ts); this fails when the committed file is stale
 * (`npm run gen:settings-schema`). The schema itself names the bad key in its errors.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_SETTINGS, parseDiscovery, parseSettings, parseTrustedIssuers } from '../../functions/core/settings';
import { SETTINGS_SCHEMA_FILE, settingsJsonSchemaText } from '../../scripts/settings-schema';

test('docs/settings.schema.json is the generated schema', () => {
  expect(readFileSync(SETTINGS_SCHEMA_FILE, 'utf8')).toBe(settingsJsonSchemaText());
});

test('the JSON Schema refuses unknown keys and requires every role, like the runtime check', () => {
  const schema = JSON.parse(settingsJsonSchemaText());
  expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['roles', 'systemCeilingScopes', 'sharedResourceTypes'] });
  expect(schema.properties.roles.required).toEqual(['patient', 'practitioner', 'guardian']);
});

describe('every error names the bad key', () => {
  const roles = DEFAULT_SETTINGS.roles;
  test.each<[string, unknown, string]>([
    ['a scope outside the SMART grammar', { ...DEFAULT_SETTINGS, systemCeilingScopes: ['system/*.sr'] }, 'invalid fhirgate settings at systemCeilingScopes[0]: "system/*.sr" is not a SMART resource scope'],
    ['a non-FHIR scope as a default', { ...DEFAULT_SETTINGS, roles: { ...roles, patient: { ...roles.patient, defaultScopes: ['openid'] } } }, 'invalid fhirgate settings at roles.patient.defaultScopes[0]: "openid" is not a SMART resource scope'],
    ['a missing role', { ...DEFAULT_SETTINGS, roles: { patient: roles.patient, guardian: roles.guardian } }, 'invalid fhirgate settings at roles.practitioner: is required'],
    ['an unknown key (a typo is not silently ignored)', { ...DEFAULT_SETTINGS, sharedResourceType: [] }, 'invalid fhirgate settings at sharedResourceType: is not a known key'],
    ['an empty group', { ...DEFAULT_SETTINGS, roles: { ...roles, guardian: { ...roles.guardian, group: '' } } }, 'invalid fhirgate settings at roles.guardian.group: must not be empty'],
    ['not an object', 'patient/*.rs', 'invalid fhirgate settings at (root): expected Object, got "patient/*.rs"'],
  ])('%s', (_name, value, message) => {
    expect(() => parseSettings(value)).toThrow(new TypeError(message));
  });

  test('trusted issuers and discovery values too', () => {
    expect(() => parseTrustedIssuers([{ kind: 'cognito-compatible', issuer: 'https://x' }], 'FHIRGATE_TRUSTED_ISSUERS')).toThrow('FHIRGATE_TRUSTED_ISSUERS at [0].jwksUri: is required');
    const discovery = { issuer: 'https://x/auth', tokenEndpoint: 'https://x/auth/token', jwksUri: 'https://x/auth/jwks.json', backendServices: true, clientSecrets: false, scopesSupported: ['patient/*.rs'] };
    expect(parseDiscovery(discovery)).toEqual(discovery);
    expect(() => parseDiscovery({ ...discovery, scopesSupported: 'patient/*.rs' }, 'FHIRGATE_DISCOVERY')).toThrow('FHIRGATE_DISCOVERY at scopesSupported: expected Array');
    expect(() => parseDiscovery({ ...discovery, backendServices: 'yes' }, 'FHIRGATE_DISCOVERY')).toThrow('FHIRGATE_DISCOVERY at backendServices: expected boolean');
    // SMART App Launch, as the CDK stack sets it when the authorization endpoint is deployed.
    const launch = { ...discovery, appLaunch: { authorizationEndpoint: 'https://x/auth/authorize' } };
    expect(parseDiscovery(launch)).toEqual(launch);
    expect(() => parseDiscovery({ ...discovery, appLaunch: {} }, 'FHIRGATE_DISCOVERY')).toThrow('FHIRGATE_DISCOVERY at appLaunch.authorizationEndpoint: is required');
    expect(() => parseDiscovery({ ...discovery, appLaunch: { authorizationEndpoint: 'x', extra: 1 } }, 'FHIRGATE_DISCOVERY')).toThrow('FHIRGATE_DISCOVERY at appLaunch.extra: is not a known key');
  });
});
