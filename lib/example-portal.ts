/**
 * The example patient portal (examples/patient-portal) as a SMART app: one definition for the
 * local stack, which registers it at start, and the CDK stack, which registers it as a first-party
 * app when given its redirect URIs (`-c portalRedirectUris=…`). Plain data: the local stack reads
 * it without loading the CDK.
 */

/** The portal's client id (the portal reads it from its config.json, `PortalClientId` in the CDK outputs). */
export const PORTAL_CLIENT_ID = 'patient-portal';

/** Shown to users on fhirgate's patient picker. */
export const PORTAL_NAME = 'Patient portal (example)';

/**
 * What the portal may ask for. Writes are listed so a deployment whose role settings grant them
 * (AppLaunchPolicy.roleScopes) lets a patient record her own Observations; by default every role
 * is read-only, and the intersection drops them.
 */
export const PORTAL_SCOPES: readonly string[] = ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs', 'patient/Observation.cu'];
