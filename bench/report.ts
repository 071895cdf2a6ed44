/**
 * The shape of `bench/results.json`, the targets every number is judged against, and the printed
 * table (one row per metric: value, target, verdict; a missed target says by how much).
 */
import type { BaselineResult, HotPathResult } from './authorizer-hot';
import type { BundleSizes, ColdStartResult } from './cold-start';
import type { EndToEndResult } from './end-to-end';
import type { PepFilterResult } from './pep-filter';
import { round } from './stats';

export interface Machine {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
  readonly os: string;
  readonly loadAverageAtStart: readonly number[];
}

export interface TargetRow {
  readonly section: string;
  readonly metric: string;
  readonly value: number | null;
  readonly unit: string;
  readonly target?: { readonly op: '<=' | '>='; readonly limit: number };
  /** `info` rows carry a number without a target; `n/a` rows could not be measured in this mode. */
  readonly verdict: 'met' | 'missed' | 'info' | 'n/a';
  /** For a missed target: how far from it, in the metric's unit and as a percentage of the target. */
  readonly missedBy?: { readonly absolute: number; readonly percent: number };
}

export interface BenchResults {
  readonly mode: 'full' | 'smoke';
  readonly date: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly authorizerHotPath: HotPathResult;
  readonly baseline: BaselineResult;
  readonly coldStart: ColdStartResult;
  readonly bundleSizes: BundleSizes;
  readonly pepFilter: PepFilterResult;
  readonly endToEnd: EndToEndResult;
  readonly targets: readonly TargetRow[];
}

/** Every top-level key results.json must carry (the smoke test checks them). */
export const RESULT_KEYS: readonly (keyof BenchResults)[] = [
  'mode',
  'date',
  'durationSeconds',
  'machine',
  'authorizerHotPath',
  'baseline',
  'coldStart',
  'bundleSizes',
  'pepFilter',
  'endToEnd',
  'targets',
];

/** A row with a target: judged here, so the verdict and the distance are computed one way. */
export function judged(section: string, metric: string, value: number | null, unit: string, op: '<=' | '>=', limit: number): TargetRow {
  if (value === null || !Number.isFinite(value)) return { section, metric, value: null, unit, target: { op, limit }, verdict: 'n/a' };
  const met = op === '<=' ? value <= limit : value >= limit;
  if (met) return { section, metric, value, unit, target: { op, limit }, verdict: 'met' };
  const absolute = Math.abs(value - limit);
  return { section, metric, value, unit, target: { op, limit }, verdict: 'missed', missedBy: { absolute: round(absolute), percent: round((absolute / limit) * 100, 1) } };
}

export function info(section: string, metric: string, value: number | null, unit: string): TargetRow {
  return { section, metric, value, unit, verdict: value === null ? 'n/a' : 'info' };
}

/** The rows of the table, from the sections' results. */
export function targetRows(r: Omit<BenchResults, 'targets' | 'durationSeconds'>): TargetRow[] {
  const hot = r.authorizerHotPath;
  const rows: TargetRow[] = [
    info('1 authorizer', 'decision (verify+principal+link+policy), median', hot.decision.median, 'µs'),
    info('1 authorizer', 'decision, p99', hot.decision.p99, 'µs'),
    info('1 authorizer', 'raw crypto.verify RS256 (floor), median', hot.rawVerify.median, 'µs'),
    info('1 authorizer', 'raw crypto.verify RS256 (floor), p99', hot.rawVerify.p99, 'µs'),
    judged('1 authorizer', 'decision / raw verify, median ratio', round(hot.ratioDecisionToVerify), '×', '<=', 1.3),
    info('1 authorizer', 'decision / raw verify, p99 ratio', round(hot.ratioDecisionToVerifyP99), '×'),
    judged('2 cold start', 'process start → first decision, median', r.coldStart.processStartToDecision.median, 'ms', '<=', 100),
    info('2 cold start', 'process start → first decision, p90', r.coldStart.processStartToDecision.p90, 'ms'),
    info('2 cold start', '  of which node bootstrap, median', r.coldStart.bootstrap.median, 'ms'),
    info('2 cold start', '  of which require(bundle), median', r.coldStart.require.median, 'ms'),
    info('2 cold start', '  of which first invocation, median', r.coldStart.firstInvoke.median, 'ms'),
    info('2 cold start', 'spawn → result seen by parent, median', r.coldStart.spawnToResult.median, 'ms'),
    info('2 cold start', 'comparison: @aws-sdk bundled in, start → decision, median', r.coldStart.sdkBundledVariant.processStartToDecision.median, 'ms'),
    info('2 cold start', 'comparison: @aws-sdk bundled in, require(bundle), median', r.coldStart.sdkBundledVariant.require.median, 'ms'),
  ];
  for (const name of ['authorizer', 'fhir-proxy', 'token-exchange'] as const) {
    const size = r.bundleSizes[name].minifiedBytes;
    rows.push(info('2 bundles', `${name} bundle (minified)`, typeof size === 'number' ? size : null, 'bytes'));
  }
  for (const s of r.pepFilter.sizes) {
    rows.push(judged('3 PEP filter', `filterBundle ${s.entries} entries, throughput`, s.resourcesPerSecond, 'res/s', '>=', 200_000));
    rows.push(info('3 PEP filter', `filterBundle ${s.entries} entries, median call`, s.perCallMs.median, 'ms'));
  }
  rows.push(judged('3 PEP filter', 'time(10k) / time(1k)', r.pepFilter.scaling10kOver1k, '×', '<=', 12));
  const e2e = r.endToEnd;
  for (const p of e2e.points) {
    rows.push(info('4 end to end', `${p.path} c=${p.connections} latency p50`, p.latencyMs.median, 'ms'));
    rows.push(info('4 end to end', `${p.path} c=${p.connections} latency p99`, p.latencyMs.p99, 'ms'));
    rows.push(info('4 end to end', `${p.path} c=${p.connections} throughput`, p.requestsPerSecond, 'req/s'));
  }
  rows.push(judged('4 end to end', 'p50 overhead gateway − direct, c=1', e2e.p50OverheadMsAtC1, 'ms', '<=', 2));
  rows.push(info('4 end to end', 'p99 overhead gateway − direct, c=1', e2e.p99OverheadMsAtC1, 'ms'));
  rows.push(judged('4 end to end', `throughput gateway / direct, c=${e2e.highConcurrency}`, e2e.throughputRatioAtC32, '×', '>=', 0.5));
  rows.push(info('5 baseline', 'jsonwebtoken+jwks-rsa verify, median', r.baseline.verify.median, 'µs'));
  rows.push(info('5 baseline', 'jsonwebtoken+jwks-rsa verify, p99', r.baseline.verify.p99, 'µs'));
  rows.push(judged('5 baseline', 'baseline verify / fhirgate decision, median', round(r.baseline.ratioBaselineToDecision), '×', '>=', 1));
  return rows;
}

function formatNumber(value: number, unit: string): string {
  if (unit === 'bytes') return `${value.toLocaleString('en-US')} B`;
  if (unit === 'res/s' || unit === 'req/s') return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
  if (unit === '×') return `${value.toFixed(2)}×`;
  const digits = Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}

function verdictText(row: TargetRow): string {
  switch (row.verdict) {
    case 'met':
      return 'met';
    case 'info':
      return '';
    case 'n/a':
      return 'n/a';
    case 'missed':
      return `MISSED by ${formatNumber(row.missedBy!.absolute, row.unit)} (${row.missedBy!.percent}% ${row.target!.op === '<=' ? 'over' : 'under'})`;
  }
}

/** The printed table. */
export function formatTable(rows: readonly TargetRow[]): string {
  const cells = rows.map((row) => [
    row.section,
    row.metric,
    row.value === null ? 'n/a' : formatNumber(row.value, row.unit),
    row.target ? `${row.target.op === '<=' ? '≤' : '≥'} ${formatNumber(row.target.limit, row.unit)}` : '',
    verdictText(row),
  ]);
  const header = ['section', 'metric', 'value', 'target', 'verdict'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
