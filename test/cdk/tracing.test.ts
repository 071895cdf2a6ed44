/**
 * Tracing decision (docs/deploy.md, "Logs and traces"): the functions are traced by Lambda
 * (TracingConfig Active, asserted in deploy-truth.test.ts), and no function ships the Powertools
 * Tracer or the X-Ray SDK under it. Measured here, bundled exactly as `cdk synth` bundles: the
 * smallest entry using the Tracer is larger than the room left under every function's budget,
 * so adding it would break a budget — if that stops being true, revisit the decision.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_BUDGET_BYTES, buildFunctionBundle, FUNCTION_ENTRIES, FunctionName } from '../../lib/function-bundle';

/** A string the X-Ray SDK for Node.js carries (its daemon address variable) and fhirgate's own code never writes. */
const XRAY_SDK_MARKER = 'AWS_XRAY_DAEMON_ADDRESS';

let out: string;
const bundles = {} as Record<FunctionName, { bytes: number; text: string }>;
let tracer: { bytes: number; text: string };
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'fhirgate-tracing-'));
  const build = async (entry: string, dir: string) => {
    const b = await buildFunctionBundle(entry, join(out, dir));
    return { bytes: b.bytes, text: readFileSync(b.file, 'utf8') };
  };
  for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) bundles[name] = await build(FUNCTION_ENTRIES[name], name);
  tracer = await build('test/cdk/fixtures/tracer-entry.ts', 'tracer');
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('the probe is what it claims: the Tracer brings the X-Ray SDK', () => {
  expect(tracer.text).toContain(XRAY_SDK_MARKER);
});

test('no function bundles the X-Ray SDK (no Powertools Tracer, no captureAWSv3Client)', () => {
  for (const name of Object.keys(bundles) as FunctionName[]) expect({ name, xraySdk: bundles[name].text.includes(XRAY_SDK_MARKER) }).toEqual({ name, xraySdk: false });
});

test('the Tracer alone is bigger than the room left under any function budget', () => {
  const rows = (Object.keys(bundles) as FunctionName[]).map((name) => ({ name, bytes: bundles[name].bytes, budget: BUNDLE_BUDGET_BYTES[name], room: BUNDLE_BUDGET_BYTES[name] - bundles[name].bytes }));
  console.log([`Powertools Tracer probe: ${tracer.bytes} bytes`, ...rows.map((r) => `${r.name.padEnd(15)} ${r.bytes} of ${r.budget} bytes, room ${r.room}`)].join('\n'));
  for (const r of rows) expect({ name: r.name, fits: tracer.bytes <= r.room }).toEqual({ name: r.name, fits: false });
});
