/**
 * GET against fhirgate with the user's access token. Every refusal fhirgate sends is an
 * OperationOutcome; the app shows its `issue[0].details.text` and acts on the status:
 * 401 → sign in again, 403 → not allowed, 404 → not found or not yours (deliberately the same).
 */

export type FhirResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: number; readonly message: string };

export interface FhirClient {
  get<T>(path: string): Promise<FhirResult<T>>;
}

/** `path` is relative to the FHIR base (`Patient/pat-alice`, `Observation?patient=…`). */
export function createFhirClient(baseUrl: string, accessToken: () => Promise<string>): FhirClient {
  return {
    async get<T>(path: string): Promise<FhirResult<T>> {
      let token: string;
      try {
        token = await accessToken();
      } catch (err) {
        // No session, or its refresh token expired: the same for the UI as fhirgate's 401.
        return { ok: false, status: 401, message: err instanceof Error ? err.message : String(err) };
      }
      let response: Response;
      try {
        response = await fetch(`${baseUrl}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
      } catch (err) {
        // A TypeError without a status: the network, or CORS (this page's origin is not on
        // fhirgate's allow-list, so the browser withholds the response).
        return { ok: false, status: 0, message: `Could not reach the FHIR API: ${err instanceof Error ? err.message : String(err)}` };
      }
      const body: unknown = await response.json().catch(() => undefined);
      if (response.ok) return { ok: true, value: body as T };
      return { ok: false, status: response.status, message: outcomeText(body) ?? `The FHIR API answered ${response.status}` };
    },
  };
}

/** The human text of an OperationOutcome: `issue[0].details.text`, else its diagnostics. */
export function outcomeText(body: unknown): string | undefined {
  const issue = (body as { resourceType?: string; issue?: { details?: { text?: unknown }; diagnostics?: unknown }[] } | undefined)?.issue?.[0];
  if ((body as { resourceType?: string } | undefined)?.resourceType !== 'OperationOutcome' || !issue) return undefined;
  const text = issue.details?.text ?? issue.diagnostics;
  return typeof text === 'string' ? text : undefined;
}
