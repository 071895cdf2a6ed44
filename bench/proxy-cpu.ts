/**
 * Section 3: the proxy handler's CPU per request against the floor of the same payload.
 *
 * - proxy: the real `createProxyHandler` (functions/fhir-proxy/handler.ts) for Alice, over a
 *   backend at the adapter boundary that answers from memory with a prepared body, so the time
 *   is the handler's own work with no I/O: parse the event and the principal, plan, forward,
 *   parse the backend's JSON, filter every resource, rewrite URLs, serialise, audit line.
 * - floor: `JSON.parse` + `JSON.stringify` of the same backend body: the least any proxy that
 *   reads and rewrites the answer must do.
 *
 * - filter: `filterBundle` alone on the already parsed answer (the post-filter every entry passes;
 *   core/response-filter.ts), reported as resources per second.
 *
 * Payloads: a read of Alice's Patient, and searchsets of 100, 1 000 and 10 000 entries, all in
 * her compartment (the backend honours the narrowing the proxy adds), so nothing is removed and
 * the proxy writes as much as it reads. Kinds and sizes are interleaved round by round, rotating.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AccessContext } from '../functions/core/resource-access';
import { filterBundle } from '../functions/core/response-filter';
import { parseScopeString } from '../functions/core/scopes';
import { DEFAULT_SETTINGS } from '../functions/core/settings';
import type { BackendRequest, FhirBackend } from '../functions/fhir-proxy/backend';
import { createProxyHandler } from '../functions/fhir-proxy/handler';
import { createHmacPageSigner } from '../functions/fhir-proxy/page-signer';
import { PROXY_NODE_FLAGS } from '../lib/runtime-flags';
import { profile } from './profiler';
import { alicePatient, BACKEND_BASE, BENCH_DISCOVERY, proxyEvent } from './proxy-fixture';
import { microsBetween, round, roundSummary, Samples, Summary, summarize } from './stats';
import { syntheticSearchset } from './synthetic';

export interface ProxyCpuCase {
  readonly name: string;
  readonly entries: number | null;
  readonly backendBytes: number;
  readonly responseBytes: number;
  /** Calls per kind per round, chosen so a batch lasts about `batchMs`. */
  readonly callsPerRound: number;
  readonly proxyMs: Summary;
  readonly floorMs: Summary;
  /** median(proxy) / median(floor). */
  readonly ratio: number;
  /** Searchsets: `filterBundle` alone (the post-filter, core/response-filter.ts) on the parsed answer. */
  readonly filterMs?: Summary;
  /** entries / median filter time. */
  readonly filterResourcesPerSecond?: number;
}

export interface ProxyCpuResult {
  readonly principal: string;
  readonly backend: string;
  readonly cases: readonly ProxyCpuCase[];
  /** median proxy time(10 000) / median proxy time(1 000); linear scaling is 10. */
  readonly scaling10kOver1k: number | null;
  /** The same for `filterBundle` alone. */
  readonly filterScaling10kOver1k: number | null;
  /**
   * The same for the floor (JSON.parse + stringify): V8's own growth from 1 MB to 10 MB, where the
   * parsed tree no longer fits the young generation and is collected in the old one.
   */
  readonly floorScaling10kOver1k: number | null;
}

export interface ProxyCpuOptions {
  readonly sizes: readonly number[];
  readonly rounds: number;
  /** Target duration of one batch (calls of one kind and size in a row), ms. */
  readonly batchMs: number;
  /** When set, an extra pass over the largest searchset runs under the CPU profiler. */
  readonly profileFile?: string;
}

interface Case {
  name: string;
  entries: number | null;
  body: string;
  event: APIGatewayProxyEvent;
  reps: number;
  proxy: Samples;
  floor: Samples;
  filter: Samples;
  parsed: unknown;
  responseBytes: number;
}

/**
 * `benchProxyCpu` in a child process with the proxy's deployed Node.js flags (bench/proxy-cpu-child.ts);
 * the child inherits this process's loader (tsx) through `execArgv`.
 */
export async function benchProxyCpuAsDeployed(options: ProxyCpuOptions): Promise<ProxyCpuResult & { readonly nodeFlags: readonly string[] }> {
  const child = spawn(process.execPath, [...process.execArgv, ...PROXY_NODE_FLAGS, join(__dirname, 'proxy-cpu-child.ts'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`proxy CPU bench child exited with ${code}`);
  return { ...(JSON.parse(out) as ProxyCpuResult), nodeFlags: PROXY_NODE_FLAGS };
}

export async function benchProxyCpu(options: ProxyCpuOptions): Promise<ProxyCpuResult> {
  let answer = '';
  const backend: FhirBackend = {
    baseUrl: BACKEND_BASE,
    async send(_req: BackendRequest) {
      return { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: answer };
    },
  };
  let auditBytes = 0;
  const handler = createProxyHandler({
    backend,
    settings: DEFAULT_SETTINGS,
    signer: createHmacPageSigner(randomBytes(32)),
    discovery: BENCH_DISCOVERY,
    // The handler's work per page is what is measured: the 6 MB response bound (and the
    // re-paging it drives) is off, so a 10 000-entry page is answered as one.
    maxResponseBytes: Number.POSITIVE_INFINITY,
    // The audit line is serialised as the real logger does; only the write is left out.
    log: (record) => (auditBytes += JSON.stringify(record).length),
  });

  const cases: Case[] = [
    { name: 'read Patient/pat-alice', entries: null, body: JSON.stringify(alicePatient()), event: proxyEvent('Patient/pat-alice') },
    ...options.sizes.map((size) => ({
      name: `search, ${size} entries`,
      entries: size,
      body: JSON.stringify(syntheticSearchset(size, 'pat-alice', BACKEND_BASE, 42, 1)),
      event: proxyEvent('Observation', { category: 'laboratory', _count: String(size) }),
    })),
  ].map((c) => ({ ...c, reps: 1, proxy: new Samples(), floor: new Samples(), filter: new Samples(), parsed: JSON.parse(c.body) as unknown, responseBytes: 0 }));

  // The post-filter alone, as the proxy calls it for Alice (its URL rewriter aside: identity here).
  const access: AccessContext = {
    principal: { kind: 'patient', sub: 'u-alice', clientId: 'web', patients: ['pat-alice'], scopes: parseScopeString('patient/*.rs').resource },
    settings: DEFAULT_SETTINGS,
    ownBaseUrls: Object.freeze([BACKEND_BASE]),
  };
  const callFilter = (c: Case) => filterBundle(access, c.parsed, 's', (url) => url).kept;

  const callProxy = async (c: Case) => {
    answer = c.body;
    return handler(c.event);
  };
  const callFloor = (c: Case) => JSON.stringify(JSON.parse(c.body)).length;

  for (const c of cases) {
    const first = await callProxy(c);
    if (first.statusCode !== 200) throw new Error(`proxy cpu: ${c.name} answered ${first.statusCode}: ${first.body.slice(0, 300)}`);
    if (c.entries !== null) {
      const kept = (JSON.parse(first.body) as { entry?: unknown[] }).entry?.length ?? 0;
      if (kept !== c.entries) throw new Error(`proxy cpu: ${c.name}: ${kept} entries came back, expected all ${c.entries}`);
    }
    c.responseBytes = first.body.length;
    // Warm-up (JIT) and a per-call estimate that sizes the batches.
    const t0 = process.hrtime.bigint();
    let warm = 0;
    while (warm < 3 || microsBetween(t0, process.hrtime.bigint()) < 100_000) {
      await callProxy(c);
      callFloor(c);
      warm += 1;
    }
    const estimateMs = microsBetween(t0, process.hrtime.bigint()) / 1e3 / warm;
    c.reps = Math.max(1, Math.round(options.batchMs / estimateMs));
  }

  let sink = 0;
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length]!;
      // Which of the two goes first alternates too.
      const order = round % 2 === 0 ? (['proxy', 'floor', 'filter'] as const) : (['filter', 'floor', 'proxy'] as const);
      for (const kind of order) {
        if (kind === 'filter' && c.entries === null) continue;
        for (let i = 0; i < c.reps; i++) {
          const t0 = process.hrtime.bigint();
          sink += kind === 'proxy' ? (await callProxy(c)).body.length : kind === 'floor' ? callFloor(c) : callFilter(c);
          c[kind].push(microsBetween(t0, process.hrtime.bigint()) / 1e3);
        }
      }
    }
  }
  if (sink === 0 || auditBytes === 0) throw new Error('proxy cpu: nothing measured');
  if (options.profileFile) {
    const largest = cases[cases.length - 1]!;
    await profile(options.profileFile, async () => {
      const until = process.hrtime.bigint() + 2_000_000_000n;
      while (process.hrtime.bigint() < until) sink += (await callProxy(largest)).body.length;
    });
  }

  const out: ProxyCpuCase[] = cases.map((c) => {
    const proxy = summarize(c.proxy.values());
    const floor = summarize(c.floor.values());
    const filter = c.entries === null ? undefined : summarize(c.filter.values());
    return {
      ...(filter && c.entries !== null ? { filterMs: roundSummary(filter, 4), filterResourcesPerSecond: Math.round(c.entries / (filter.median / 1e3)) } : {}),
      name: c.name,
      entries: c.entries,
      backendBytes: c.body.length,
      responseBytes: c.responseBytes,
      callsPerRound: c.reps,
      proxyMs: roundSummary(proxy, 4),
      floorMs: roundSummary(floor, 4),
      ratio: round(proxy.median / floor.median),
    };
  });
  const t1k = out.find((c) => c.entries === 1000)?.proxyMs.median;
  const t10k = out.find((c) => c.entries === 10000)?.proxyMs.median;
  const j1k = out.find((c) => c.entries === 1000)?.floorMs.median;
  const j10k = out.find((c) => c.entries === 10000)?.floorMs.median;
  const f1k = out.find((c) => c.entries === 1000)?.filterMs?.median;
  const f10k = out.find((c) => c.entries === 10000)?.filterMs?.median;
  return {
    principal: 'patient Alice: patients [pat-alice], scopes patient/*.rs (DEFAULT_SETTINGS)',
    backend: 'in memory at the FhirBackend boundary (no I/O); searchsets: 60 % Observation, 30 % Encounter, 10 % Patient, all in her compartment',
    cases: out,
    scaling10kOver1k: t1k !== undefined && t10k !== undefined ? round(t10k / t1k) : null,
    filterScaling10kOver1k: f1k !== undefined && f10k !== undefined ? round(f10k / f1k) : null,
    floorScaling10kOver1k: j1k !== undefined && j10k !== undefined ? round(j10k / j1k) : null,
  };
}
