/**
 * Metrics behind fhirgate's own small interface, published as CloudWatch embedded metric format
 * (EMF) log lines by Powertools for AWS Lambda: no API call, no extra latency. Dimensions are low
 * cardinality and never PHI: error codes, interactions, grant types — never ids, patients or
 * search values.
 */
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export type MetricUnitName = 'Count' | 'Milliseconds';

export interface Metrics {
  /** One data point; each call is published with exactly the dimensions given. */
  record(name: string, unit: MetricUnitName, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

/** Records nothing (tests, the local stack). */
export const noMetrics: Metrics = { record: () => undefined };

/** The CloudWatch namespace every fhirgate function publishes to. */
export const METRICS_NAMESPACE = 'fhirgate';

/** A Metrics over Powertools: each data point one EMF line with its own dimensions (service is always one). */
export function powertoolsMetrics(serviceName: string, options: { namespace?: string } = {}): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: options.namespace ?? METRICS_NAMESPACE, serviceName });
  return {
    record(name, unit, value, dimensions = {}) {
      const single = metrics.singleMetric(); // published at once, with only these dimensions
      for (const [key, dim] of Object.entries(dimensions)) single.addDimension(key, dim);
      single.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, value);
    },
  };
}
