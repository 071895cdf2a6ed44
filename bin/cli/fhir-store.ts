/**
 * The FHIR store as the CLI uses it: does Patient/{id} exist, create one, delete one again (to
 * roll back). It talks to the store itself (the local stack's `backendFhirBaseUrl`, or `--fhir-url`),
 * not through the gateway: an operator holds no FHIR token. HealthLake URLs are SigV4-signed with
 * the operator's credentials, through the same backend client the proxy uses.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { DependencyError } from '../../functions/core/errors';
import { createHttpBackend, createSigV4Signer, FhirBackend } from '../../functions/fhir-proxy/backend';
import { CliError, failure, isUnreachable } from './errors';

export interface FhirStore {
  readonly baseUrl: string;
  /** Throws CliError naming the first patient that does not exist. */
  assertPatientsExist(ids: readonly string[]): Promise<void>;
  /** POST Patient; returns the id the store assigned. */
  createPatient(patient: { name?: string; email?: string }): Promise<string>;
  deletePatient(id: string): Promise<void>;
}

/** HealthLake endpoints (`https://healthlake.<region>.amazonaws.com/datastore/<id>/r4`) need SigV4. */
function healthLakeRegion(url: URL): string | undefined {
  return /^healthlake\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
}

export function openFhirStore(baseUrl: string): FhirStore {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new CliError(`FHIR store URL ${JSON.stringify(baseUrl)} is not an absolute URL`);
  }
  const region = healthLakeRegion(url);
  // The operator's credentials: the SDK's chain (environment, profiles and SSO, container and instance roles).
  const signer = region ? createSigV4Signer({ region, credentials: defaultProvider() }) : undefined;
  const backend: FhirBackend = createHttpBackend({ baseUrl, timeoutMs: 10_000, signer });
  const send = async (doing: string, req: Parameters<FhirBackend['send']>[0]) => {
    try {
      return await backend.send(req);
    } catch (err) {
      if (isUnreachable(err) || err instanceof DependencyError) {
        throw new CliError(`cannot reach the FHIR store at ${backend.baseUrl} (${doing})`);
      }
      throw failure(doing, err);
    }
  };

  return {
    baseUrl: backend.baseUrl,
    async assertPatientsExist(ids) {
      for (const id of ids) {
        const res = await send(`reading Patient/${id}`, { method: 'GET', path: `Patient/${id}` });
        if (res.status === 404 || res.status === 410) throw new CliError(`patient ${id} not found in the FHIR store (${backend.baseUrl})`);
        if (res.status !== 200) throw new CliError(`the FHIR store answered ${res.status} to GET Patient/${id}`);
      }
    },
    async createPatient({ name, email }) {
      const resource = {
        resourceType: 'Patient',
        active: true,
        ...(name ? { name: [{ text: name }] } : {}),
        ...(email ? { telecom: [{ system: 'email', value: email }] } : {}),
      };
      const res = await send('creating the Patient', { method: 'POST', path: 'Patient', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
      if (res.status !== 201 && res.status !== 200) throw new CliError(`the FHIR store answered ${res.status} to POST Patient`);
      const id = createdId(res.body, res.headers.location);
      if (!id) throw new CliError('the FHIR store created a Patient but returned no id');
      return id;
    },
    async deletePatient(id) {
      const res = await send(`deleting Patient/${id}`, { method: 'DELETE', path: `Patient/${id}` });
      if (res.status >= 300 && res.status !== 404 && res.status !== 410) throw new CliError(`the FHIR store answered ${res.status} to DELETE Patient/${id}`);
    },
  };
}

/** The new resource's id: from the returned body, else from `Location: …/Patient/{id}/_history/{v}`. */
function createdId(body: string, location: string | undefined): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
  } catch {
    // an empty or non-JSON body (Prefer: return=minimal): fall back to Location
  }
  return location ? /\/Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/|$)/.exec(location)?.[1] : undefined;
}
