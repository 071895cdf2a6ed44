'use strict';
/**
 * One cold start, in a fresh Node process: require the bundled authorizer, serve one decision,
 * print the timings on one JSON line and exit. Plain CommonJS so nothing but the bundle is loaded.
 *
 * Times are `performance.now()`: milliseconds since this process started (Node sets
 * `performance.timeOrigin` at process start), so `decided` covers Node's own bootstrap, the
 * bundle's module-scope initialisation (config, verifier, DynamoDB client, JWKS hydration started)
 * and the first invocation (JWKS fetch awaited, signature, DynamoDB GetItem, policy).
 *
 * argv: <bundle path> <event JSON>
 */
const scriptStart = performance.now();
const [bundlePath, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const { handler } = require(bundlePath);
const loaded = performance.now();
handler(event).then(
  (result) => {
    const decided = performance.now();
    const effect = result && result.policyDocument && result.policyDocument.Statement[0].Effect;
    process.stdout.write(`${JSON.stringify({ scriptStart, loaded, decided, effect })}\n`, () => process.exit(0));
  },
  (err) => {
    process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`, () => process.exit(1));
  },
);
