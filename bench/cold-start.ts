/**
 * Section 2: bundle sizes of every Lambda, and the authorizer's cold start — a fresh Node process
 * that loads the minified bundle and serves its first decision.
 *
 * Bundles are built the way a Lambda asset is (esbuild, minify, platform node, target node20,
 * CommonJS) with `@aws-sdk/*` external: the Lambda Node.js runtime provides SDK v3 on its
 * NODE_PATH. Here the bundles live in a temp directory and each child gets
 * NODE_PATH=<repo>/node_modules — the same mechanism Lambda uses for /var/runtime/node_modules —
 * so `require('@aws-sdk/client-dynamodb')` resolves from the repo's node_modules.
 *
 * The parent serves what the child talks to on 127.0.0.1: a JWKS (the token's issuer) and
 * dynalite holding Alice's link record. Each child reads the authorizer's environment
 * (functions/authorizer/config.ts ENV, plus static AWS credentials and region, as Lambda sets).
 *
 * For comparison (an info number, not the measured configuration) the same entry is also bundled
 * with the SDK inside; children of the two variants alternate, so drift hits both alike.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ENV } from '../functions/authorizer/config';
import { startDynalite } from '../test/support/dynalite';
import { startTestIssuer } from '../test/support/jwt-issuer';
import { ALICE, aliceToken, API_SERVER, METHOD_ARN, WEB_CLIENT } from './authorizer-hot';
import { round, roundSummary, Summary, summarize } from './stats';

const ROOT = resolve(__dirname, '..');

/** The Lambda entry points, by function name. */
export const LAMBDAS = {
  authorizer: 'functions/authorizer/index.ts',
  'fhir-proxy': 'functions/fhir-proxy/index.ts',
  'token-exchange': 'functions/token-exchange/index.ts',
} as const;

export type BundleSizes = {
  readonly [name in keyof typeof LAMBDAS]: { readonly entry: string; readonly minifiedBytes: number | 'n/a'; readonly note?: string };
} & { readonly settings: string };

export interface ColdStartRun {
  /** performance.now() in the child when the decision resolved: process start → first decision. */
  readonly processStartToDecisionMs: number;
  /** Node's own bootstrap, until the child script's first line. */
  readonly bootstrapMs: number;
  /** require() of the bundle: module-scope init (config, verifier, SDK client, JWKS fetch started). */
  readonly requireMs: number;
  /** The first invocation: awaits JWKS hydration, verifies, DynamoDB GetItem (cold link cache), policy. */
  readonly firstInvokeMs: number;
  /** Wall time in the parent from spawn() to the result line (adds fork/exec and the pipe). */
  readonly spawnToResultMs: number;
}

export interface ColdStartResult {
  readonly unit: 'ms';
  readonly processes: number;
  readonly discardedWarmupProcesses: number;
  readonly bundle: string;
  readonly resolution: string;
  readonly processStartToDecision: Summary;
  readonly bootstrap: Summary;
  readonly require: Summary;
  readonly firstInvoke: Summary;
  readonly spawnToResult: Summary;
  readonly runs: readonly ColdStartRun[];
  /** Comparison only: the same authorizer with @aws-sdk/* bundled in (one file, nothing resolved from node_modules). */
  readonly sdkBundledVariant: {
    readonly minifiedBytes: number;
    readonly processStartToDecision: Summary;
    readonly require: Summary;
    readonly firstInvoke: Summary;
  };
}

const BUILD_SETTINGS = { bundle: true, minify: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'silent' } as const;

async function bundleAll(outDir: string): Promise<{ sizes: BundleSizes; authorizerBundle: string; sdkBundled: { file: string; bytes: number } }> {
  const sizes: Record<string, unknown> = {
    settings: "esbuild bundle, minify, platform node, target node20, format cjs, external ['@aws-sdk/*'] (Lambda's runtime provides SDK v3); no source maps",
  };
  for (const [name, entry] of Object.entries(LAMBDAS)) {
    const entryPath = join(ROOT, entry);
    if (!existsSync(entryPath)) {
      sizes[name] = { entry, minifiedBytes: 'n/a', note: 'entry point missing' };
      continue;
    }
    const outfile = join(outDir, name, 'index.js');
    try {
      await build({ ...BUILD_SETTINGS, entryPoints: [entryPath], outfile, external: ['@aws-sdk/*'] });
      sizes[name] = { entry, minifiedBytes: (await stat(outfile)).size };
    } catch (err) {
      if (name === 'authorizer') throw err;
      sizes[name] = { entry, minifiedBytes: 'n/a', note: `bundle failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
    }
  }
  const sdkBundled = join(outDir, 'authorizer-sdk-bundled', 'index.js');
  await build({ ...BUILD_SETTINGS, entryPoints: [join(ROOT, LAMBDAS.authorizer)], outfile: sdkBundled });
  return { sizes: sizes as BundleSizes, authorizerBundle: join(outDir, 'authorizer', 'index.js'), sdkBundled: { file: sdkBundled, bytes: (await stat(sdkBundled)).size } };
}

function runChild(bundle: string, eventJson: string, env: NodeJS.ProcessEnv, nodeArgs: readonly string[]): Promise<ColdStartRun> {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'cold-child.cjs'), bundle, eventJson], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let t1: bigint | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (t1 === undefined && out.includes('\n')) t1 = process.hrtime.bigint();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n')[0] ?? '';
      let parsed: { scriptStart?: number; loaded?: number; decided?: number; effect?: string; error?: string };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        reject(new Error(`cold start child (exit ${code}) printed no result: ${out}${err}`));
        return;
      }
      if (code !== 0 || parsed.effect !== 'Allow' || parsed.decided === undefined || parsed.loaded === undefined || parsed.scriptStart === undefined) {
        reject(new Error(`cold start child failed (exit ${code}): ${line} ${err}`));
        return;
      }
      resolvePromise({
        processStartToDecisionMs: round(parsed.decided),
        bootstrapMs: round(parsed.scriptStart),
        requireMs: round(parsed.loaded - parsed.scriptStart),
        firstInvokeMs: round(parsed.decided - parsed.loaded),
        spawnToResultMs: round(Number((t1 ?? process.hrtime.bigint()) - t0) / 1e6),
      });
    });
  });
}

export interface ColdStartOptions {
  readonly processes: number;
  readonly warmupProcesses: number;
  /** When set, every child also runs with --cpu-prof and writes its profile into this directory (the timings then include the profiler). */
  readonly profileDir?: string;
}

export async function benchColdStart(options: ColdStartOptions): Promise<{ coldStart: ColdStartResult; bundleSizes: BundleSizes }> {
  const outDir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-bundles-'));
  const issuer = await startTestIssuer();
  const dynamo = await startDynalite();
  try {
    const { sizes, authorizerBundle, sdkBundled } = await bundleAll(outDir);
    await dynamo.putLink({ sub: ALICE.sub, role: ALICE.role, fhirUser: ALICE.fhirUser, patients: [...ALICE.patients] });
    const eventJson = JSON.stringify({ type: 'TOKEN', authorizationToken: `Bearer ${aliceToken(issuer)}`, methodArn: METHOD_ARN });
    // A clean environment, as Lambda gives one: nothing from this process (no NODE_OPTIONS, no tsx loader).
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_PATH: join(ROOT, 'node_modules'),
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      [ENV.issuers]: JSON.stringify([{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: issuer.jwksUri }]),
      [ENV.userClientIds]: WEB_CLIENT,
      [ENV.machineClientIds]: API_SERVER,
      [ENV.linksTable]: dynamo.tableName,
      [ENV.linkCacheTtlSeconds]: '60',
      [ENV.dynamoEndpoint]: dynamo.endpoint,
    };
    const runs: ColdStartRun[] = [];
    const variantRuns: ColdStartRun[] = [];
    const nodeArgs = (name: string) => (options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, name)}`, '--cpu-prof-interval=100'] : []);
    for (let i = 0; i < options.warmupProcesses + options.processes; i++) {
      // Alternate which variant goes first, so neither always follows the other.
      const pair = i % 2 === 0 ? (['external', 'bundled'] as const) : (['bundled', 'external'] as const);
      for (const which of pair) {
        const run = which === 'external'
          ? await runChild(authorizerBundle, eventJson, env, nodeArgs('sdk-external'))
          : await runChild(sdkBundled.file, eventJson, env, nodeArgs('sdk-bundled'));
        if (i >= options.warmupProcesses) (which === 'external' ? runs : variantRuns).push(run);
      }
    }
    const of = (pick: (r: ColdStartRun) => number, from: readonly ColdStartRun[] = runs) => roundSummary(summarize(from.map(pick)));
    return {
      bundleSizes: sizes,
      coldStart: {
        unit: 'ms',
        processes: runs.length,
        discardedWarmupProcesses: options.warmupProcesses,
        bundle: `${LAMBDAS.authorizer} → minified CommonJS bundle (${typeof sizes.authorizer.minifiedBytes === 'number' ? sizes.authorizer.minifiedBytes : '?'} bytes)`,
        resolution: '@aws-sdk/* external, resolved through NODE_PATH=<repo>/node_modules (as Lambda resolves its runtime SDK); JWKS and dynalite served by the parent on 127.0.0.1',
        processStartToDecision: of((r) => r.processStartToDecisionMs),
        bootstrap: of((r) => r.bootstrapMs),
        require: of((r) => r.requireMs),
        firstInvoke: of((r) => r.firstInvokeMs),
        spawnToResult: of((r) => r.spawnToResultMs),
        runs,
        sdkBundledVariant: {
          minifiedBytes: sdkBundled.bytes,
          processStartToDecision: of((r) => r.processStartToDecisionMs, variantRuns),
          require: of((r) => r.requireMs, variantRuns),
          firstInvoke: of((r) => r.firstInvokeMs, variantRuns),
        },
      },
    };
  } finally {
    await dynamo.close();
    await issuer.close();
    await rm(outDir, { recursive: true, force: true });
  }
}
