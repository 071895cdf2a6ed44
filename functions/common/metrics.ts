/**
 * Metrics behind fhirgate's own small interface, published as CloudWatch embedded metric format
 * (EMF) log lines — by emf-metrics.ts (the Lambdas: the same records for a fraction of the CPU), or by
 * Powertools for AWS Lambda (powertools-metrics.ts, the reference its tests compare with): no API
 * call, no extra latency. This module imports
 * neither, so a bundle pulls in only the one it uses. Dimensions are low
 * cardinality and never PHI: error codes, interactions, grant types — never ids, patients or
 * search values.
 */

export type MetricUnitName = 'Count' | 'Milliseconds';

export interface Metrics {
  /** One data point; each call is published with exactly the dimensions given. */
  record(name: string, unit: MetricUnitName, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

/** Records nothing (tests, the local stack). */
export const noMetrics: Metrics = { record: () => undefined };

/** The CloudWatch namespace every fhirgate function publishes to. */
export const METRICS_NAMESPACE = 'fhirgate';

/** The `service` dimension each function's metrics carry (lib/alarms.ts selects metrics by it). */
export const METRIC_SERVICES = { proxy: 'fhir-proxy', tokenService: 'token-service' } as const;
