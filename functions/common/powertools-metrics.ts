/** fhirgate's Metrics over Powertools for AWS Lambda's Metrics (see metrics.ts). */
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Metrics, METRICS_NAMESPACE } from './metrics';

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
