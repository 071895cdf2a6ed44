/**
 * `npm run bench`: fhirgate measured against the physical floor (RS256 verify) and against the
 * direct path (the FHIR store without fhirgate), in one run on one machine, as ratios.
 *
 *   npm run bench                      full run (about a minute), writes bench/results.json
 *   npm run bench -- --smoke           tiny counts, every section, no meaningful numbers
 *   npm run bench -- --out FILE        write the results elsewhere
 *   npm run bench -- --only hot,proxy  some sections (hot, proxy, cold, e2e); no results file
 *   npm run bench -- --profile DIR     also write CPU profiles (summarise: tsx bench/profile-summary.ts DIR)
 *
 * Sections run one after another, never in parallel, in an order that keeps the quiet
 * measurements (in-process) away from the noisy ones (child processes, the local stack).
 * Missed targets are reported, not failed: the exit code is 0 unless a measurement broke.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, arch, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchAuthorizerHotPath } from './authorizer-hot';
import { benchColdStart } from './cold-start';
import { benchEndToEnd } from './end-to-end';
import { benchProxyCpuAsDeployed } from './proxy-cpu';
import { BenchResults, formatTable, Machine, targetRows } from './report';

const SECTION_NAMES = ['hot', 'proxy', 'cold', 'e2e'] as const;
type SectionName = (typeof SECTION_NAMES)[number];

interface Args {
  readonly smoke: boolean;
  readonly out: string;
  readonly only?: ReadonlySet<SectionName>;
  readonly profileDir?: string;
}

/** The command line, through node:util parseArgs (strict: an unknown option is an error). */
function argsFrom(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { smoke: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' }, profile: { type: 'string' } },
  });
  let only: Set<SectionName> | undefined;
  if (values.only !== undefined) {
    only = new Set();
    for (const name of values.only.split(',')) {
      if (!(SECTION_NAMES as readonly string[]).includes(name)) throw new TypeError(`--only: unknown section "${name}" (${SECTION_NAMES.join(', ')})`);
      only.add(name as SectionName);
    }
  }
  const profileDir = values.profile === undefined ? undefined : resolve(values.profile);
  // A profiled run's timings include the profiler: its results stay beside the profiles.
  const out = values.out !== undefined ? resolve(values.out) : profileDir ? join(profileDir, 'results.json') : resolve(__dirname, 'results.json');
  return { smoke: values.smoke, out, only, profileDir };
}

const FULL = {
  hot: { iterations: 20_000, warmup: 2_000, batch: 500 },
  proxy: { sizes: [100, 1_000, 10_000], rounds: 20, batchMs: 25 },
  cold: { processes: 10, warmupProcesses: 1 },
  e2e: { seconds: 5, warmupSeconds: 1, concurrency: [1, 32] },
} as const;

const SMOKE = {
  hot: { iterations: 200, warmup: 20, batch: 50 },
  proxy: { sizes: [100], rounds: 3, batchMs: 2 },
  cold: { processes: 2, warmupProcesses: 0 },
  e2e: { seconds: 1, warmupSeconds: 0.2, concurrency: [1, 32] },
} as const;

function machine(): Machine {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpuCount: cpu.length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
  progress(`${name}…`);
  const t0 = Date.now();
  const result = await run();
  progress(`${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

async function main(): Promise<void> {
  const args = argsFrom(process.argv.slice(2));
  const plan = args.smoke ? SMOKE : FULL;
  const wanted = (s: SectionName) => !args.only || args.only.has(s);
  const started = Date.now();
  const host = machine();
  progress(`${args.smoke ? 'smoke' : 'full'} run on ${host.cpuCount} × ${host.cpuModel}, Node ${host.node}`);

  const prof = args.profileDir;
  if (prof) progress(`profiles go to ${prof} (timings of a profiled run are not comparable; cold start and the stack run under --cpu-prof)`);
  const hot = wanted('hot')
    ? await timed('1+5 authorizer hot path, raw verify, baseline', () => benchAuthorizerHotPath({ ...plan.hot, profileFile: prof && join(prof, 'authorizer-decision.cpuprofile') }))
    : undefined;
  const proxy = wanted('proxy') ? await timed('3 proxy CPU per request', () => benchProxyCpuAsDeployed({ ...plan.proxy, profileFile: prof && join(prof, 'proxy-cpu.cpuprofile') })) : undefined;
  const cold = wanted('cold') ? await timed('2 bundles and cold start', () => benchColdStart({ ...plan.cold, profileDir: prof && join(prof, 'cold-start') })) : undefined;
  const e2e = wanted('e2e') ? await timed('4 end to end on the local stack', () => benchEndToEnd({ ...plan.e2e, profileDir: prof && join(prof, 'stack') })) : undefined;

  const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  if (!hot || !proxy || !cold || !e2e) {
    // A partial run (--only) prints what it measured and writes no results file.
    process.stdout.write(`${JSON.stringify({ hot, proxy, cold, e2e, durationSeconds }, null, 2)}\n`);
    return;
  }
  const partial = {
    mode: args.smoke ? ('smoke' as const) : ('full' as const),
    date: new Date(started).toISOString(),
    machine: host,
    authorizerHotPath: hot.hot,
    baseline: hot.baseline,
    coldStart: cold.coldStart,
    bundleSizes: cold.bundleSizes,
    proxyCpu: proxy,
    endToEnd: e2e,
  };
  const targets = targetRows(partial);
  const results: BenchResults = { ...partial, durationSeconds, targets };
  await mkdir(dirname(args.out), { recursive: true });
  await writeFile(args.out, `${JSON.stringify(results, null, 2)}\n`);

  const missed = targets.filter((t) => t.verdict === 'missed');
  process.stdout.write(
    [
      '',
      `fhirgate bench (${results.mode}) — ${results.date}`,
      `${host.cpuCount} × ${host.cpuModel}, ${(host.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${host.node}, ${host.os}`,
      '',
      formatTable(targets),
      '',
      `${targets.filter((t) => t.verdict === 'met').length} targets met, ${missed.length} missed${missed.length ? `: ${missed.map((t) => t.metric).join('; ')}` : ''}`,
      `total ${durationSeconds.toFixed(1)} s; results in ${args.out}`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
