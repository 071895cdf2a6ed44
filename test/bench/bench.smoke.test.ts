/**
 * `npm run bench -- --smoke`: the benchmark script runs every section with tiny counts, exits 0
 * and writes results.json with every section present. No timing assertions: numbers from a
 * smoke run (and from a loaded CI machine) mean nothing; `npm run bench` is where they are read.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchResults, RESULT_KEYS } from '../../bench/report';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-smoke-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['bench/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bench --smoke exits 0, prints the table and writes results.json with every section', async () => {
  const out = join(dir, 'results.json');
  const run = await runBench(['--smoke', '--out', out]);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(run.stdout).toMatch(/section\s+metric\s+value\s+target\s+verdict/);

  const results = JSON.parse(await readFile(out, 'utf8')) as BenchResults;
  expect(Object.keys(results).sort()).toEqual([...RESULT_KEYS].sort());
  expect(results.mode).toBe('smoke');
  expect(results.machine).toEqual(expect.objectContaining({ cpuModel: expect.any(String), cpuCount: expect.any(Number), totalMemoryBytes: expect.any(Number), node: process.version }));

  // Every section carries its numbers and ratios (values, not thresholds).
  expect(results.authorizerHotPath.decision.median).toEqual(expect.any(Number));
  expect(results.authorizerHotPath.rawVerify.median).toEqual(expect.any(Number));
  expect(results.authorizerHotPath.ratioDecisionToVerify).toEqual(expect.any(Number));
  expect(results.authorizerHotPath.innerLinkStoreCalls).toBe(1); // the cache was warm while measuring
  expect(results.baseline.ratioBaselineToDecision).toEqual(expect.any(Number));
  expect(results.coldStart.processes).toBeGreaterThanOrEqual(2);
  for (const v of Object.values(results.coldStart.variants)) expect(v.processStartToAnswer.median).toEqual(expect.any(Number));
  expect(results.coldStart.authorizerRatio).toEqual(expect.any(Number));
  expect(results.coldStart.proxyRatio).toEqual(expect.any(Number));
  // Behaviour, not timing: a machine token never loads the DynamoDB SDK (no link to read); a user token does.
  expect(results.coldStart.variants.authorizerMachine.sdkClients).not.toContain('client-dynamodb');
  expect(results.coldStart.variants.authorizerUser.sdkClients).toContain('client-dynamodb');
  for (const name of ['authorizer', 'fhir-proxy', 'token-exchange'] as const) expect(results.bundleSizes[name].minifiedBytes).toEqual(expect.any(Number));
  expect(results.proxyCpu.cases.map((c) => c.entries)).toEqual([null, 100]);
  for (const c of results.proxyCpu.cases) expect(c).toEqual(expect.objectContaining({ ratio: expect.any(Number), responseBytes: expect.any(Number) }));
  expect(results.endToEnd.points.map((p) => `${p.path}@${p.connections}`).sort()).toEqual(['direct@1', 'direct@32', 'gateway@1', 'gateway@32']);
  expect(results.endToEnd.points.every((p) => p.requests > 0 && p.non2xx === 0 && p.errors === 0)).toBe(true);
  expect(results.endToEnd.cpuAtHighConcurrency).toEqual(expect.objectContaining({ fhirgateMsPer1000: expect.any(Number), storeMsPer1000Direct: expect.any(Number) }));

  // One table row per section at least, each with a verdict.
  const sections = new Set(results.targets.map((t) => t.section.split(' ')[0]));
  expect([...sections].sort()).toEqual(['1', '2', '3', '4', '5']);
  for (const t of results.targets) expect(['met', 'missed', 'info', 'n/a']).toContain(t.verdict);
});
