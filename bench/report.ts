/**
 * The shape of `bench/results.json`, the targets every number is judged against, and the printed
 * table (one row per metric: value, target, verdict; a missed target says by how much).
 */
import type { BaselineResult, HotPathResult } from './authorizer-hot';
import type { BundleSizes, ColdStartResult } from './cold-start';
import type { EndToEndResult } from './end-to-end';
import type { ProxyCpuResult } from './proxy-cpu';
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
  readonly proxyCpu: ProxyCpuResult;
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
  'proxyCpu',
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

/**
 * Every target is a ratio to a floor measured in the same run by the same kind of process
 * (absolute figures do not survive a move between machines); the absolute values are `info`
 * rows beside them. Bundle sizes are the exception: bytes are bytes on every machine.
 */
export const TARGETS = {
  authorizerDecisionOverVerify: 1.3,
  authorizerColdOverFloor: 1.5,
  proxyCpuOverFloor: 2,
  /** The post-filter alone (filterBundle), resources per second. */
  filterResourcesPerSecond: 200_000,
  proxyScaling10kOver1k: 12,
  proxyColdOverFloor: 2,
  e2eP50OverheadMs: 2,
} as const;

/** The rows of the table, from the sections' results. */
export function targetRows(r: Omit<BenchResults, 'targets' | 'durationSeconds'>): TargetRow[] {
  const hot = r.authorizerHotPath;
  const cold = r.coldStart;
  const v = cold.variants;
  const rows: TargetRow[] = [
    info('1 authorizer', 'decision (verify+principal+link+policy), median', hot.decision.median, 'µs'),
    info('1 authorizer', 'floor: raw crypto.verify RS256, same token, median', hot.rawVerify.median, 'µs'),
    judged('1 authorizer', 'decision / floor, median', round(hot.ratioDecisionToVerify), '×', '<=', TARGETS.authorizerDecisionOverVerify),
    info('1 authorizer', 'decision / floor, p99', round(hot.ratioDecisionToVerifyP99), '×'),
    info('2 cold start', `authorizer, machine token: start → first answer, median`, v.authorizerMachine.processStartToAnswer.median, 'ms'),
    info('2 cold start', 'floor: aws-jwt-verify alone, same token, median', v.authorizerFloor.processStartToAnswer.median, 'ms'),
    judged('2 cold start', 'authorizer / floor, median', cold.authorizerRatio, '×', '<=', TARGETS.authorizerColdOverFloor),
    info('2 cold start', 'authorizer, user token (loads DynamoDB, GetItem), median', v.authorizerUser.processStartToAnswer.median, 'ms'),
    info('2 cold start', 'authorizer user token / floor, median', cold.authorizerUserTokenRatio, '×'),
    info('2 cold start', 'proxy (SigV4, KMS key id), read: start → first answer, median', v.proxy.processStartToAnswer.median, 'ms'),
    info('2 cold start', 'floor: empty handler, median', v.proxyFloor.processStartToAnswer.median, 'ms'),
    judged('2 cold start', 'proxy / floor, median', cold.proxyRatio, '×', '<=', TARGETS.proxyColdOverFloor),
  ];
  for (const name of ['authorizer', 'fhir-proxy', 'token-exchange'] as const) {
    const size = r.bundleSizes[name];
    rows.push(judged('2 bundles', `${name} bundle (as cdk synth ships it)`, size.minifiedBytes, 'bytes', '<=', size.budgetBytes));
  }
  for (const c of r.proxyCpu.cases) {
    rows.push(info('3 proxy CPU', `${c.name}: handler, median`, c.proxyMs.median, 'ms'));
    rows.push(info('3 proxy CPU', `${c.name}: floor JSON.parse+stringify, median`, c.floorMs.median, 'ms'));
    rows.push(judged('3 proxy CPU', `${c.name}: handler / floor`, c.ratio, '×', '<=', TARGETS.proxyCpuOverFloor));
  }
  rows.push(judged('3 proxy CPU', 'handler time(10k) / time(1k)', r.proxyCpu.scaling10kOver1k, '×', '<=', TARGETS.proxyScaling10kOver1k));
  rows.push(info('3 proxy CPU', 'floor time(10k) / time(1k) (V8 alone: JSON.parse + stringify)', r.proxyCpu.floorScaling10kOver1k ?? null, '×'));
  for (const c of r.proxyCpu.cases) {
    if (c.filterResourcesPerSecond === undefined) continue;
    rows.push(judged('3 proxy CPU', `${c.name}: filterBundle alone, throughput`, c.filterResourcesPerSecond, 'res/s', '>=', TARGETS.filterResourcesPerSecond));
  }
  rows.push(judged('3 proxy CPU', 'filterBundle time(10k) / time(1k)', r.proxyCpu.filterScaling10kOver1k ?? null, '×', '<=', TARGETS.proxyScaling10kOver1k));
  const e2e = r.endToEnd;
  for (const p of e2e.points) {
    rows.push(info('4 end to end', `${p.path} c=${p.connections} latency p50`, p.latencyMs.median, 'ms'));
    rows.push(info('4 end to end', `${p.path} c=${p.connections} latency p99`, p.latencyMs.p99, 'ms'));
  }
  rows.push(judged('4 end to end', 'p50 overhead gateway − direct, c=1', e2e.p50OverheadMsAtC1, 'ms', '<=', TARGETS.e2eP50OverheadMs));
  rows.push(info('4 end to end', 'p99 overhead gateway − direct, c=1', e2e.p99OverheadMsAtC1, 'ms'));
  const cpu = e2e.cpuAtHighConcurrency;
  rows.push(info('4 end to end', `c=${e2e.highConcurrency}: fhirgate process CPU per 1 000 requests`, cpu.fhirgateMsPer1000, 'ms'));
  rows.push(info('4 end to end', `c=${e2e.highConcurrency}: FHIR store CPU per 1 000 (same requests)`, cpu.storeMsPer1000ViaGateway, 'ms'));
  rows.push(info('4 end to end', `c=${e2e.highConcurrency}: FHIR store CPU per 1 000 (direct)`, cpu.storeMsPer1000Direct, 'ms'));
  rows.push(info('5 baseline', 'jsonwebtoken+jwks-rsa verify, median', r.baseline.verify.median, 'µs'));
  rows.push(info('5 baseline', 'baseline verify / fhirgate decision, median', round(r.baseline.ratioBaselineToDecision), '×'));
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
