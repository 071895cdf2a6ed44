/**
 * Public discovery documents, served without a token and without calling the FHIR backend:
 * - `/.well-known/smart-configuration` (SMART App Launch 2.x §Conformance), derived from what the
 *   token service serves (core/oauth-metadata.ts, the same source as its RFC 8414 metadata);
 * - `metadata`: fhirgate's own CapabilityStatement (FHIR R4 capabilitystatement.html). The
 *   backend's statement describes the backend, not what callers can do through fhirgate (it lists
 *   types, interactions and includes fhirgate refuses); and never asking the backend means
 *   discovery costs no backend request (HealthLake meters its capabilities call separately).
 */
import { isCompartmentType } from '../core/compartment';
import { PATIENT_COMPARTMENT } from '../core/compartment-data';
import { CognitoEndpoints, ServedOAuth, smartConfigurationDocument } from '../core/oauth-metadata';
import { isR4ResourceType } from '../core/resource-types';
import type { AuthzSettings } from '../core/settings';

export interface DiscoveryConfig extends ServedOAuth {
  /** Scopes a SMART client may ask for (Cognito's resource-server scopes and fhirgate's). */
  readonly scopesSupported: readonly string[];
  /** Cognito, where first-party apps sign users in; advertised as fhirgate extensions only. */
  readonly cognito?: CognitoEndpoints;
}

/** The SMART configuration document. */
export function smartConfiguration(config: DiscoveryConfig): Record<string, unknown> {
  return smartConfigurationDocument(config, config.scopesSupported, config.cognito);
}

/** When this statement's content last changed (CapabilityStatement.date is required). */
const STATEMENT_DATE = '2026-11-30';

/** Bulk Data IG v2 (https://hl7.org/fhir/uv/bulkdata/): the statement names the IG and its kick-off operations. */
const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata';

/** http://hl7.org/fhir/R4/operation-patient-everything.html */
const PATIENT_EVERYTHING = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

/**
 * Instance and type interactions fhirgate enforces. Not listed: `history-type` (a confined caller
 * is refused it: R4 history takes no criteria to narrow it by), and `searchInclude`, which the
 * statement would have to promise per type while fhirgate filters includes by reference closure.
 */
const TYPE_INTERACTIONS = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'patch', 'delete'] as const;

/**
 * fhirgate's CapabilityStatement: the types a caller can reach (the Patient compartment types,
 * Patient, and the configured shared types), what fhirgate does with them, `$everything` on
 * Patient, and `rest.security` pointing to the token service (SMART "oauth-uris" extension).
 */
export function capabilityStatement(config: DiscoveryConfig, settings: AuthzSettings, publicBase: string): Record<string, unknown> {
  const types = [...new Set(['Patient', ...Object.keys(PATIENT_COMPARTMENT), ...settings.sharedResourceTypes])].filter(isR4ResourceType).sort();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STATEMENT_DATE,
    kind: 'instance',
    software: { name: 'fhirgate' },
    implementation: { description: 'fhirgate: patient-scoped FHIR API', url: publicBase },
    fhirVersion: '4.0.1',
    // JSON only: XML is refused with 406/415 (see docs/conformance.md).
    format: ['json'],
    instantiates: [`${BULK_DATA}/CapabilityStatement/bulk-data`],
    rest: [
      {
        mode: 'server',
        documentation: 'Every interaction is confined to the patients the caller holds; what a token may do is set by its SMART scopes.',
        security: {
          cors: true,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description: 'OAuth 2.0 bearer tokens (SMART App Launch 2 scopes) from Amazon Cognito or fhirgate\'s token service.',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'token', valueUri: config.tokenEndpoint },
                ...(config.appLaunch ? [{ url: 'authorize', valueUri: config.appLaunch.authorizationEndpoint }] : []),
              ],
            },
          ],
        },
        resource: types.map((type) => ({
          type,
          interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
          ...(type === 'Patient'
            ? { operation: [{ name: 'everything', definition: PATIENT_EVERYTHING }, { name: 'export', definition: `${BULK_DATA}/OperationDefinition/patient-export` }] }
            : {}),
          ...(type === 'Group' ? { operation: [{ name: 'export', definition: `${BULK_DATA}/OperationDefinition/group-export` }] } : {}),
          ...(isCompartmentType(type) || type === 'Patient' ? {} : { documentation: 'Shared type: readable by any caller whose scopes cover it.' }),
        })),
        interaction: [{ code: 'batch' }, { code: 'transaction' }],
        // Backend services clients only (docs/patterns/bulk-export.md).
        operation: [{ name: 'export', definition: `${BULK_DATA}/OperationDefinition/export` }],
      },
    ],
  };
}
