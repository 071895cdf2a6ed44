/// <reference path="./autocannon.d.ts" />
/**
 * Section 4: end to end on the local stack, over loopback HTTP with autocannon. The same patient
 * search two ways:
 * - through fhirgate: `GET {fhirBaseUrl}/Observation?category=laboratory` with Alice's Cognito
 *   token → API Gateway emulation (authorizer result cached per token, as API Gateway does) →
 *   PEP (parse, narrow to her compartment, forward, post-filter, rewrite URLs, audit line) →
 *   the local FHIR store over HTTP;
 * - direct: `GET {backendFhirBaseUrl}/Observation?category=laboratory&subject=Patient/pat-alice`,
 *   the same result straight from the store.
 *
 * Each point (path × concurrency) gets `seconds` of load split into two halves run in ABBA order
 * (gateway, direct, direct, gateway), so drift during the run hits both paths alike.
 * Latencies are taken from autocannon's `response` event (sub-millisecond; autocannon's own
 * histogram keeps whole milliseconds only); throughput is 2xx responses / run duration.
 */
import autocannon from 'autocannon';
import { round, roundSummary, Samples, Summary, summarize } from './stats';
import { BenchStack, startBenchStack } from './local-stack';

export interface LoadPoint {
  readonly path: 'gateway' | 'direct';
  readonly connections: number;
  readonly seconds: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Milliseconds, from per-response times. */
  readonly latencyMs: Summary;
  /** autocannon's own whole-millisecond percentiles, for reference. */
  readonly autocannonLatencyMs: { readonly p50: number; readonly p99: number };
  readonly non2xx: number;
  readonly errors: number;
}

export interface EndToEndResult {
  readonly gatewayUrl: string;
  readonly directUrl: string;
  readonly resultEntries: number;
  readonly authorizerCache: string;
  readonly stackProcess: string;
  readonly points: readonly LoadPoint[];
  /** p50(gateway) − p50(direct) at c=1, ms. */
  readonly p50OverheadMsAtC1: number;
  readonly p99OverheadMsAtC1: number;
  /** throughput(gateway) / throughput(direct) at the highest concurrency. */
  readonly throughputRatioAtC32: number;
  readonly highConcurrency: number;
}

interface Run {
  latencies: Samples;
  ok: number;
  seconds: number;
  non2xx: number;
  errors: number;
  acP50: number[];
  acP99: number[];
}

async function load(url: string, headers: Record<string, string>, connections: number, seconds: number, into: Run): Promise<void> {
  const instance = autocannon({ url, connections, duration: seconds, pipelining: 1, timeout: 10, headers, sampleInt: 100 });
  instance.on('response', (_client, status, _bytes, responseTime) => {
    if (status >= 200 && status < 300) into.latencies.push(responseTime);
  });
  const result = await instance;
  into.ok += result['2xx'];
  into.seconds += result.duration;
  into.non2xx += result.non2xx;
  into.errors += result.errors + result.timeouts;
  into.acP50.push(result.latency.p50);
  into.acP99.push(result.latency.p99);
}

function ids(bundle: { entry?: { resource?: { resourceType?: string; id?: string } }[] }): string[] {
  return (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();
}

export interface EndToEndOptions {
  /** Seconds of load per point (path × concurrency), split into two ABBA halves. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrency: readonly number[];
  /** When set, the stack runs with --cpu-prof and writes its profile here when stopped. */
  readonly profileDir?: string;
}

export async function benchEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const stack: BenchStack = await startBenchStack({ profileDir: options.profileDir });
  try {
    const token = await stack.signIn('alice');
    const gatewayUrl = `${stack.info.fhirBaseUrl}/Observation?category=laboratory`;
    const directUrl = `${stack.info.backendFhirBaseUrl}/Observation?category=laboratory&subject=Patient/pat-alice`;
    const paths = {
      gateway: { url: gatewayUrl, headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } },
      direct: { url: directUrl, headers: { accept: 'application/fhir+json' } },
    } as const;

    // Both paths must answer the same thing, or the comparison means nothing.
    const [viaGateway, direct] = await Promise.all(
      Object.values(paths).map(async (p) => {
        const res = await fetch(p.url, { headers: p.headers });
        if (res.status !== 200) throw new Error(`end to end: ${p.url} answered ${res.status}: ${await res.text()}\nstack log tail:\n${stack.logTail()}`);
        return ids((await res.json()) as Parameters<typeof ids>[0]);
      }),
    );
    if (viaGateway!.length === 0 || JSON.stringify(viaGateway) !== JSON.stringify(direct)) {
      throw new Error(`end to end: gateway and direct results differ: ${JSON.stringify(viaGateway)} vs ${JSON.stringify(direct)}`);
    }

    // Warm-up: JIT, keep-alive pools, the gateway's authorizer cache for this token.
    for (const p of Object.values(paths)) await load(p.url, p.headers, 8, options.warmupSeconds, newRun());

    const points: LoadPoint[] = [];
    for (const connections of options.concurrency) {
      const runs = { gateway: newRun(), direct: newRun() };
      const half = options.seconds / 2;
      for (const which of ['gateway', 'direct', 'direct', 'gateway'] as const) {
        await load(paths[which].url, paths[which].headers, connections, half, runs[which]);
      }
      for (const which of ['gateway', 'direct'] as const) {
        const r = runs[which];
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`end to end: ${which} at c=${connections}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        points.push({
          path: which,
          connections,
          seconds: round(r.seconds, 2),
          requests: r.ok,
          requestsPerSecond: Math.round(r.ok / r.seconds),
          latencyMs: roundSummary(summarize(r.latencies.values())),
          autocannonLatencyMs: { p50: Math.max(...r.acP50), p99: Math.max(...r.acP99) },
          non2xx: r.non2xx,
          errors: r.errors,
        });
      }
    }

    const at = (path: LoadPoint['path'], c: number) => points.find((p) => p.path === path && p.connections === c)!;
    const low = Math.min(...options.concurrency);
    const high = Math.max(...options.concurrency);
    return {
      gatewayUrl: gatewayUrl.replace(/:\d+\//, ':<port>/'),
      directUrl: directUrl.replace(/:\d+\//, ':<port>/'),
      resultEntries: viaGateway!.length,
      authorizerCache: `gateway emulation caches the authorizer result per token for ${stack.info.authorizerCacheTtlSeconds} s (API Gateway default): after the first request the authorizer is not called`,
      stackProcess: 'one Node process (tsx local/stack/main.ts) serves the gateway, the PEP and the FHIR store; autocannon runs in the bench process; 2 cores shared',
      points,
      p50OverheadMsAtC1: round(at('gateway', low).latencyMs.median - at('direct', low).latencyMs.median),
      p99OverheadMsAtC1: round(at('gateway', low).latencyMs.p99 - at('direct', low).latencyMs.p99),
      throughputRatioAtC32: round(at('gateway', high).requestsPerSecond / at('direct', high).requestsPerSecond),
      highConcurrency: high,
    };
  } finally {
    await stack.stop();
  }
}

function newRun(): Run {
  return { latencies: new Samples(), ok: 0, seconds: 0, non2xx: 0, errors: 0, acP50: [], acP99: [] };
}
