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
 *
 * At high concurrency the figure is CPU, not throughput (two cores shared by the load generator
 * and the emulators make req/s a measure of the machine): the CPU time the kernel charged to the
 * stack's `fhirgate` process (API Gateway emulation + authorizer + PEP; the authorizer result is
 * cached per token, as API Gateway does) and to the FHIR store's own process, per 1 000 requests,
 * read from /proc/<pid>/stat around each half of the load.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  readonly highConcurrency: number;
  /** CPU ms per 1 000 requests at the highest concurrency; null where /proc is not available. */
  readonly cpuAtHighConcurrency: {
    readonly source: string;
    /** The stack's fhirgate process (gateway emulation + authorizer + PEP) on the gateway path: an upper bound for authorizer + PEP. */
    readonly fhirgateMsPer1000: number | null;
    /** The FHIR store's process answering the same gateway-path requests. */
    readonly storeMsPer1000ViaGateway: number | null;
    /** The FHIR store's process answering direct requests. */
    readonly storeMsPer1000Direct: number | null;
  };
}

/** user + system CPU ms the kernel charged to a process so far (Linux /proc/<pid>/stat), or null. */
function cpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

interface Run {
  /** CPU ms charged while this path's load ran: the fhirgate process, the store process. */
  fhirgateCpuMs: number | null;
  storeCpuMs: number | null;
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
    const pids = { fhirgate: stack.info.processes.find((p) => p.name === 'fhirgate')?.pid, store: stack.info.processes.find((p) => p.name === 'fhir-store')?.pid };
    const cpu = new Map<number, { gateway: Run; direct: Run }>();
    for (const connections of options.concurrency) {
      const runs = { gateway: newRun(), direct: newRun() };
      const half = options.seconds / 2;
      for (const which of ['gateway', 'direct', 'direct', 'gateway'] as const) {
        const before = [cpuMs(pids.fhirgate), cpuMs(pids.store)];
        await load(paths[which].url, paths[which].headers, connections, half, runs[which]);
        const after = [cpuMs(pids.fhirgate), cpuMs(pids.store)];
        const add = (sum: number | null, a: number | null, b: number | null) => (sum === null || a === null || b === null ? null : sum + (b - a));
        runs[which].fhirgateCpuMs = add(runs[which].fhirgateCpuMs, before[0]!, after[0]!);
        runs[which].storeCpuMs = add(runs[which].storeCpuMs, before[1]!, after[1]!);
      }
      cpu.set(connections, runs);
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
      stackProcess: 'the stack (local/stack/main.ts) serves the gateway emulation, authorizer and PEP in one process; the FHIR store and cognito-local run in their own; autocannon runs in the bench process',
      points,
      p50OverheadMsAtC1: round(at('gateway', low).latencyMs.median - at('direct', low).latencyMs.median),
      p99OverheadMsAtC1: round(at('gateway', low).latencyMs.p99 - at('direct', low).latencyMs.p99),
      highConcurrency: high,
      cpuAtHighConcurrency: (() => {
        const r = cpu.get(high)!;
        const per1000 = (ms: number | null, run: Run) => (ms === null || run.ok === 0 ? null : round((ms / run.ok) * 1000, 1));
        return {
          source: `/proc/<pid>/stat utime+stime (clock ticks of 1/${clockTicks()} s) around each half of the load, c=${high}`,
          fhirgateMsPer1000: per1000(r.gateway.fhirgateCpuMs, r.gateway),
          storeMsPer1000ViaGateway: per1000(r.gateway.storeCpuMs, r.gateway),
          storeMsPer1000Direct: per1000(r.direct.storeCpuMs, r.direct),
        };
      })(),
    };
  } finally {
    await stack.stop();
  }
}

function newRun(): Run {
  return { fhirgateCpuMs: 0, storeCpuMs: 0, latencies: new Samples(), ok: 0, seconds: 0, non2xx: 0, errors: 0, acP50: [], acP99: [] };
}
