/**
 * The local stack's SMART apps: the example portal as a first-party public client (the CDK stack
 * registers the same one, lib/example-portal.ts, when given its redirect URIs), and the tables
 * they live in.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppClient } from '../../functions/core/app-launch';
import { putApp } from '../../functions/token-exchange/app-registry';
import { PORTAL_CLIENT_ID, PORTAL_NAME, PORTAL_SCOPES } from '../../lib/example-portal';

export { PORTAL_CLIENT_ID, PORTAL_SCOPES };

export const APP_TABLES = { apps: 'fhirgate-apps', launch: 'fhirgate-launch' } as const;

/** Register the demo apps; the portal's redirect URI is its own page. */
export async function registerDemoApps(client: DynamoDBClient, portalUrl: string): Promise<AppClient[]> {
  const portal: AppClient = { clientId: PORTAL_CLIENT_ID, name: PORTAL_NAME, status: 'active', redirectUris: [new URL('/', portalUrl).toString()], scopes: [...PORTAL_SCOPES] };
  await putApp(client, APP_TABLES.apps, portal);
  return [portal];
}
