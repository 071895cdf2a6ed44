/**
 * KMS throttling, counted. KMS answers `ThrottlingException` past its per-account request quotas
 * (the token service's `Sign` on an ECC key, the proxy's `GenerateMac`/`VerifyMac`:
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html). The signers
 * turn every KMS failure into a DependencyError, answered 503 (token endpoint) or 502 (paging
 * link) — the function itself does not fail, so Lambda's `Errors` metric never shows it. This
 * wrapper records each throttled call as the `KmsThrottled` metric (after the SDK's own retry),
 * which lib/alarms.ts alarms on, and rethrows the error unchanged.
 */
import type { Metrics } from '../common/metrics';

/** The metric a throttled KMS call is counted in (namespace `fhirgate`, dimension `service` only). */
export const KMS_THROTTLED_METRIC = 'KmsThrottled';

/** The error name KMS (and the SDK's error parser) gives a throttled request. */
const THROTTLING = 'ThrottlingException';

/** The one method of a KMS client the signers use; a `KMSClient` fits. */
export interface KmsSender<Command> {
  send(command: Command): Promise<unknown>;
}

/** `client`, with each call KMS throttled counted in `metrics`. */
export function countKmsThrottles<Command>(client: KmsSender<Command>, metrics: Metrics): KmsSender<Command> {
  return {
    async send(command) {
      try {
        return await client.send(command);
      } catch (err) {
        if (err instanceof Error && err.name === THROTTLING) metrics.record(KMS_THROTTLED_METRIC, 'Count', 1);
        throw err;
      }
    },
  };
}
