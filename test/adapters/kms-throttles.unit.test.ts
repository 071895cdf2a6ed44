/**
 * countKmsThrottles: a KMS call refused with ThrottlingException is counted once and rethrown as
 * is (the signers still turn it into a 503/502); every other outcome passes through uncounted.
 */
import { countKmsThrottles, KMS_THROTTLED_METRIC } from '../../functions/adapters/kms-throttles';
import type { Metrics } from '../../functions/common/metrics';

const recorder = () => {
  const records: unknown[][] = [];
  const metrics: Metrics = { record: (...args) => void records.push(args) };
  return { metrics, records };
};
const failing = (name: string) => ({ send: async (_command: string): Promise<unknown> => Promise.reject(Object.assign(new Error(name), { name })) });

test('ThrottlingException: one KmsThrottled data point (no extra dimension), the same error rethrown', async () => {
  const { metrics, records } = recorder();
  const client = failing('ThrottlingException');
  await expect(countKmsThrottles(client, metrics).send('Sign')).rejects.toMatchObject({ name: 'ThrottlingException' });
  expect(records).toEqual([[KMS_THROTTLED_METRIC, 'Count', 1]]);
});

test.each(['KMSInvalidMacException', 'AccessDeniedException', 'TimeoutError', 'KMSInvalidStateException'])('%s is not counted as throttling', async (name) => {
  const { metrics, records } = recorder();
  await expect(countKmsThrottles(failing(name), metrics).send('VerifyMac')).rejects.toMatchObject({ name });
  expect(records).toEqual([]);
});

test('an answer passes through uncounted', async () => {
  const { metrics, records } = recorder();
  const client = { send: async (command: string) => ({ echoed: command }) };
  await expect(countKmsThrottles(client, metrics).send('GenerateMac')).resolves.toEqual({ echoed: 'GenerateMac' });
  expect(records).toEqual([]);
});
