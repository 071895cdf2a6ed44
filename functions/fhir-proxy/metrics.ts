/**
 * The proxy's metrics: one decision per request by outcome code, entries removed from responses
 * (a spike is the PEP stopping something the backend returned), and backend latency. Dimensions
 * are codes, interactions and methods only — never ids, patients or search values.
 */
import type { Metrics } from '../common/metrics';
import type { FhirBackend } from './backend';
import type { ProxyResponse } from './responses';

/** The fhirgate error code of an OperationOutcome response, or `OK` for a success. */
export function outcomeCode(response: ProxyResponse): string {
  const body = response.body as { resourceType?: unknown; issue?: { details?: { coding?: { code?: unknown }[] } }[] } | undefined;
  const code = body?.resourceType === 'OperationOutcome' ? body.issue?.[0]?.details?.coding?.[0]?.code : undefined;
  if (typeof code === 'string' && /^ERR_[A-Z_]+$/.test(code)) return code;
  return response.status < 400 ? 'OK' : `HTTP_${response.status}`;
}

/**
 * Record one request's decision and the entries its response lost to the post-filter. `code` is
 * the refusal's real code as audited (ERR_OUT_OF_COMPARTMENT where the caller saw "not found");
 * without one, the response's own code.
 */
export function recordDecision(metrics: Metrics, response: ProxyResponse, interaction: string | undefined, removed: number, code?: string): void {
  const dims = { interaction: interaction ?? 'none' };
  metrics.record('Decisions', 'Count', 1, { ...dims, decision: response.status < 400 ? 'allow' : 'deny', code: code ?? outcomeCode(response) });
  if (removed > 0) metrics.record('RemovedEntries', 'Count', removed, dims);
}

/** The backend, timed: `BackendLatency` per call by method, failures included. */
export function timedBackend(backend: FhirBackend, metrics: Metrics, now: () => number = Date.now): FhirBackend {
  return {
    baseUrl: backend.baseUrl,
    async send(req) {
      const started = now();
      let outcome = 'error';
      try {
        const res = await backend.send(req);
        outcome = res.status < 500 ? 'ok' : 'error';
        return res;
      } finally {
        metrics.record('BackendLatency', 'Milliseconds', now() - started, { method: req.method, outcome });
      }
    },
  };
}
