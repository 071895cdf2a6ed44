'use strict';
/**
 * One cold start, in a fresh Node process: require a bundled Lambda handler, serve one event,
 * print the timings on one JSON line (prefixed `cold-start `: the handler may log too) and exit. Plain CommonJS so nothing but the bundle is loaded.
 *
 * Times are `performance.now()`: milliseconds since this process started (Node sets
 * `performance.timeOrigin` at process start), so `answered` covers Node's own bootstrap, the
 * bundle's module-scope initialisation and the first invocation — what Lambda bills as init plus
 * the first request's duration.
 *
 * argv: <bundle path> <event JSON>
 */
const scriptStart = performance.now();
const [bundlePath, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const { handler } = require(bundlePath);
const loaded = performance.now();
/** Which AWS SDK clients this process ended up loading (the authorizer loads DynamoDB only for links). */
const sdkClients = () => [...new Set(Object.keys(require.cache).map((k) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(k)?.[1]).filter(Boolean))].sort();
handler(event).then(
  (result) => {
    const answered = performance.now();
    const outcome = result && result.policyDocument ? result.policyDocument.Statement[0].Effect : result && String(result.statusCode);
    process.stdout.write(`\ncold-start ${JSON.stringify({ scriptStart, loaded, answered, outcome, sdkClients: sdkClients() })}\n`, () => process.exit(0));
  },
  (err) => {
    process.stdout.write(`\ncold-start ${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`, () => process.exit(1));
  },
);
