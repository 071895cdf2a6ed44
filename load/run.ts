/**
 * `npm run load`: a bounded load run through the local stack — 20 000 requests at concurrency 50,
 * loopback only, mixed roles and interactions, then it stops by itself. Every response is checked
 * against its caller: the expected status class, and no resource of a patient the caller does not
 * hold. Prints p50/p99, throughput, errors, and the stack's RSS before and after.
 * Options: --requests N (default 20000), --concurrency N (default 50), --json (machine output).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backendServicesToken, exchangeToken, machineToken, signIn, tokenOf } from '../local/stack/clients';
import { spawnLocalStack } from '../local/stack/spawn';
import type { StackInfo } from '../bin/cli/stack-info';

interface Caller {
  readonly name: string;
  readonly token: string;
  /** Patients this caller may see; undefined = all (machine). */
  readonly patients?: readonly string[];
}

interface Shot {
  readonly path: string;
  /** Status the request must get for this caller. */
  readonly expect: number;
}

/** --requests, --concurrency, --json through node:util parseArgs; a bad value exits 2 naming the option. */
function options(): { requests: number; concurrency: number; json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: { requests: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
    }));
  } catch (err) {
    process.stderr.write(`load: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const count = (name: 'requests' | 'concurrency'): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value <= 0) {
      process.stderr.write(`load: --${name} needs a positive whole number\n`);
      process.exit(2);
    }
    return value;
  };
  return { requests: count('requests'), concurrency: count('concurrency'), json: values.json };
}

async function callers(info: StackInfo): Promise<Caller[]> {
  const users = await Promise.all(info.users.map(async (u) => ({ name: u.username, token: await signIn(info, u.username), patients: u.patients })));
  const machines = await Promise.all(info.machineClients.map(async (c) => ({ name: c.name, token: await machineToken(info, c.name) })));
  const backend = { name: 'backend-sync (private_key_jwt)', token: await backendServicesToken(info) };
  // The API server acting for Alice (RFC 8693): confined to Alice like Alice herself.
  const alice = users.find((u) => u.name === 'alice')!;
  const apiServer = machines.find((m) => m.name === 'api-server')!;
  const delegated = { name: 'api-server-for-alice', token: tokenOf('the token exchange', await exchangeToken(info, alice.token, apiServer.token)), patients: alice.patients };
  return [...users, ...machines, backend, delegated];
}

/** The request mix for one caller, with the status each must get. */
function shotsFor(caller: Caller, allPatients: readonly string[]): Shot[] {
  if (caller.name === 'analytics') {
    return [{ path: 'Observation?category=laboratory', expect: 200 }, { path: 'Patient/pat-alice', expect: 403 }, { path: 'Observation', expect: 200 }];
  }
  if (!caller.patients) return [{ path: 'Patient', expect: 200 }, { path: 'Observation?subject=Patient/pat-bob', expect: 200 }, { path: 'Encounter', expect: 200 }];
  const own = caller.patients[0]!;
  const other = allPatients.find((p) => !caller.patients!.includes(p))!;
  return [
    { path: 'Patient', expect: 200 },
    { path: `Patient/${own}`, expect: 200 },
    { path: `Patient/${other}`, expect: 404 },
    { path: 'Observation?category=laboratory', expect: 200 },
    { path: `Observation?subject=Patient/${other}`, expect: 200 },
    { path: `Patient/${own}/$everything`, expect: 200 },
    { path: 'Condition?_include=Condition:subject', expect: 200 },
  ];
}

/** Patient ids a response carries (every reference to a Patient, and Patient resources). */
function patientsIn(body: unknown): Set<string> {
  const text = JSON.stringify(body);
  const ids = new Set([...text.matchAll(/"reference":"(?:[^"]*\/)?Patient\/([A-Za-z0-9\-.]+)"/g)].map((m) => m[1]!));
  for (const m of text.matchAll(/"resourceType":"Patient","id":"([A-Za-z0-9\-.]+)"/g)) ids.add(m[1]!);
  return ids;
}

function rssKb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const { requests: total, concurrency, json } = options();
  // Exchanged tokens live 300 s at most: long enough for the whole run.
  const stack = await spawnLocalStack();
  const { info } = stack;
  try {
    const stackPid = info.processes.find((p) => p.name === 'fhirgate')!.pid;
    const all = await callers(info);
    const patients = info.patients.map((p) => p.id);
    const plan = all.flatMap((c) => shotsFor(c, patients).map((s) => ({ caller: c, shot: s })));
    // Warm up each combination once (JWKS, link cache, authorizer cache), then measure.
    for (const { caller, shot } of plan) await fetch(`${info.fhirBaseUrl}/${shot.path}`, { headers: { authorization: `Bearer ${caller.token}` } }).then((r) => r.arrayBuffer());
    const rssBefore = rssKb(stackPid);
    const latencies: number[] = [];
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < total) {
        const { caller, shot } = plan[next++ % plan.length]!;
        const t0 = performance.now();
        const res = await fetch(`${info.fhirBaseUrl}/${shot.path}`, { headers: { authorization: `Bearer ${caller.token}` } });
        const body = (await res.json()) as unknown;
        latencies.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== shot.expect) problems.push(`${caller.name} GET ${shot.path}: ${res.status}, expected ${shot.expect}`);
        if (caller.patients) {
          const foreign = [...patientsIn(body)].filter((p) => !caller.patients!.includes(p));
          if (foreign.length > 0) problems.push(`LEAK: ${caller.name} GET ${shot.path} carried ${foreign.join(',')}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const rssAfter = rssKb(stackPid);
    latencies.sort((a, b) => a - b);
    const result = {
      requests: latencies.length,
      concurrency,
      seconds: Number(seconds.toFixed(2)),
      throughput: Math.round(latencies.length / seconds),
      p50Ms: Number(percentile(latencies, 50).toFixed(2)),
      p99Ms: Number(percentile(latencies, 99).toFixed(2)),
      statuses: Object.fromEntries([...statuses].sort()),
      unexpected: problems.length,
      leaks: problems.filter((p) => p.startsWith('LEAK')).length,
      rssBeforeMb: rssBefore === undefined ? null : Math.round(rssBefore / 1024),
      rssAfterMb: rssAfter === undefined ? null : Math.round(rssAfter / 1024),
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`fhirgate load: ${result.requests} requests at c=${concurrency} through ${info.fhirBaseUrl}\n`);
      for (const [k, v] of Object.entries(result)) process.stdout.write(`  ${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
      for (const p of problems.slice(0, 20)) process.stdout.write(`  ! ${p}\n`);
    }
    process.exitCode = problems.length === 0 ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
