/**
 * The local stack's SMART apps: the example portal as a first-party public client (the CDK stack
 * registers the same one from settings), and the tables they live in.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppClient } from '../../functions/core/app-launch';
import { putApp } from '../../functions/token-exchange/app-registry';

export const APP_TABLES = { apps: 'fhirgate-apps', launch: 'fhirgate-launch' } as const;

/** The portal's client id (examples/patient-portal reads it from config.json). */
export const PORTAL_CLIENT_ID = 'patient-portal';

/**
 * What the portal may ask for. Writes are listed so a deployment whose role settings grant them
 * (AppLaunchPolicy.roleScopes) lets a patient record her own Observations; by default every role
 * is read-only, and the intersection drops them.
 */
export const PORTAL_SCOPES = ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs', 'patient/Observation.cu'];

/** Register the demo apps; the portal's redirect URI is its own page. */
export async function registerDemoApps(client: DynamoDBClient, portalUrl: string): Promise<AppClient[]> {
  const portal: AppClient = { clientId: PORTAL_CLIENT_ID, name: 'Patient portal (example)', status: 'active', redirectUris: [new URL('/', portalUrl).toString()], scopes: PORTAL_SCOPES };
  await putApp(client, APP_TABLES.apps, portal);
  return [portal];
}
