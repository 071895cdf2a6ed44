/**
 * Production figures on paper, derived from a bench run (bench/results.json) and cited AWS
 * prices and quotas — nothing typed by hand in docs/performance.md: `tsx bench/docs.ts` writes
 * its generated block from here, and a test checks the committed block matches.
 */
import { DEFAULT_MEMORY_MB } from '../lib/fhirgate-function';
import { PROXY_MEMORY_MB } from '../lib/fhir-proxy';
import type { BenchResults } from './report';

/** Lambda on arm64, US East (N. Virginia), first pricing tier. https://aws.amazon.com/lambda/pricing/ */
export const LAMBDA_PRICE = {
  source: 'https://aws.amazon.com/lambda/pricing/ (arm64, US East (N. Virginia), first tier)',
  usdPerGbSecond: 0.0000133334,
  usdPerMillionRequests: 0.2,
  /** Duration is billed in 1 ms increments. */
  granularityMs: 1,
} as const;

/** Quotas that bound fhirgate before its own code does, with where they are documented. */
export const QUOTAS = [
  { what: 'API Gateway requests per second, per account and Region (burst 5,000)', value: 10_000, source: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html' },
  { what: 'Lambda concurrent executions, per account and Region (new accounts start lower)', value: 1_000, source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html' },
  { what: 'HealthLake FHIR read (GET) requests per second, per data store', value: 3_000, source: 'https://docs.aws.amazon.com/healthlake/latest/devguide/quotas.html' },
  { what: 'HealthLake POST Bundle requests per second, per data store', value: 10, source: 'https://docs.aws.amazon.com/healthlake/latest/devguide/quotas.html' },
] as const;

/** Authorizer cache hit rates to show (API Gateway caches the answer per token for the TTL). */
export const HIT_RATES = [0, 0.9, 0.99] as const;

export interface CostRow {
  readonly what: string;
  /** Measured handler time, ms (median). */
  readonly measuredMs: number;
  /** Billed duration: measured time rounded up to the billing granularity. */
  readonly billedMs: number;
  readonly memoryMb: number;
  /** USD per million invocations: duration plus the request charge. */
  readonly usdPerMillion: number;
}

function usdPerMillion(billedMs: number, memoryMb: number): number {
  const gbSeconds = (billedMs / 1000) * (memoryMb / 1024);
  return Math.round((gbSeconds * LAMBDA_PRICE.usdPerGbSecond * 1e6 + LAMBDA_PRICE.usdPerMillionRequests) * 10_000) / 10_000;
}

function row(what: string, measuredMs: number, memoryMb: number): CostRow {
  const billedMs = Math.max(LAMBDA_PRICE.granularityMs, Math.ceil(measuredMs / LAMBDA_PRICE.granularityMs) * LAMBDA_PRICE.granularityMs);
  return { what, measuredMs, billedMs, memoryMb, usdPerMillion: usdPerMillion(billedMs, memoryMb) };
}

/**
 * Cost per million invocations of each function at the CPU time measured per request. The
 * proxy's figure excludes the time it waits for the FHIR server, which Lambda also bills: add
 * the backend's latency × the proxy's memory to it.
 */
export function costRows(r: BenchResults): CostRow[] {
  return [
    row('authorizer decision (cache miss)', r.authorizerHotPath.decision.median / 1000, DEFAULT_MEMORY_MB),
    ...r.proxyCpu.cases.map((c) => row(`proxy, ${c.name} (CPU only)`, c.proxyMs.median, PROXY_MEMORY_MB)),
  ];
}

/** Authorizer USD per million API requests at each hit rate: only misses invoke it. */
export function authorizerCostByHitRate(r: BenchResults): { hitRate: number; usdPerMillionRequests: number }[] {
  const perMillion = costRows(r)[0]!.usdPerMillion;
  return HIT_RATES.map((h) => ({ hitRate: h, usdPerMillionRequests: Math.round(perMillion * (1 - h) * 10_000) / 10_000 }));
}
