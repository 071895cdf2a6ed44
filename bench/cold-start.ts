/**
 * Section 2: bundle sizes and cold starts, each cold start against a floor built and spawned the
 * same way in the same run.
 *
 * Bundles come from `buildFunctionBundle` (lib/function-bundle.ts): byte for byte what `cdk synth`
 * ships (the CDK tests check it), the AWS SDK and Smithy left to the runtime. Each child gets
 * NODE_PATH=<repo>/node_modules, the mechanism Lambda uses for its runtime SDK in
 * /var/runtime/node_modules, and a clean Lambda-like environment (region, static credentials, the
 * function's own variables; no NODE_OPTIONS, no tsx).
 *
 * Cold start = process start → first answer (bench/cold-child.cjs): Node's bootstrap, module init
 * (what Lambda reports as Init Duration) and the first invocation. Variants, interleaved round by
 * round in rotating order so drift hits all alike:
 * - authorizer, machine token: fhirgate's authorizer; needs no link, so no DynamoDB (target);
 * - authorizer floor: aws-jwt-verify alone verifying the same machine token (bench/floors);
 * - authorizer, user token: Alice's token; loads the DynamoDB SDK and reads her link from dynalite (info);
 * - proxy: fhirgate's proxy configured as in AWS (SigV4 to the backend, a KMS paging key id),
 *   serving Alice's read of her Patient from a loopback backend;
 * - proxy floor: an empty handler (bench/floors).
 */
import { spawn } from 'node:child_process';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ENV } from '../functions/adapters/authz-config';
import { DEFAULT_SETTINGS } from '../functions/core/settings';
import { PROXY_ENV } from '../functions/fhir-proxy/config';
import { BUNDLE_BUDGET_BYTES, buildFunctionBundle, FUNCTION_ENTRIES, FunctionName } from '../lib/function-bundle';
import { startDynalite } from '../test/support/dynalite';
import { startTestIssuer, TestIssuer } from '../test/support/jwt-issuer';
import { selfSignedCertificate } from '../test/support/tls';
import { ALICE, aliceToken, API_SERVER, METHOD_ARN, WEB_CLIENT } from './authorizer-hot';
import { alicePatient, BENCH_DISCOVERY, proxyEvent } from './proxy-fixture';
import { round, roundSummary, Summary, summarize } from './stats';

const ROOT = resolve(__dirname, '..');

export type BundleSizes = {
  readonly [name in FunctionName]: { readonly entry: string; readonly minifiedBytes: number; readonly budgetBytes: number };
} & { readonly settings: string };

export interface ColdStartRun {
  /** performance.now() in the child when the first answer resolved: process start → first answer. */
  readonly processStartToAnswerMs: number;
  /** Node's own bootstrap, until the child script's first line. */
  readonly bootstrapMs: number;
  /** require() of the bundle: module-scope init. */
  readonly requireMs: number;
  /** The first invocation. */
  readonly firstInvokeMs: number;
  /** AWS SDK clients the process had loaded when it answered. */
  readonly sdkClients: readonly string[];
}

export interface ColdStartVariant {
  readonly description: string;
  readonly bundleBytes: number;
  readonly processStartToAnswer: Summary;
  readonly bootstrap: Summary;
  readonly require: Summary;
  readonly firstInvoke: Summary;
  /** AWS SDK clients loaded by the first child (the same in every child). */
  readonly sdkClients: readonly string[];
}

export interface ColdStartResult {
  readonly unit: 'ms';
  readonly processes: number;
  readonly discardedWarmupProcesses: number;
  readonly resolution: string;
  readonly variants: Readonly<Record<VariantName, ColdStartVariant>>;
  /** median(authorizer, machine token) / median(authorizer floor). */
  readonly authorizerRatio: number;
  /** median(authorizer, user token) / median(authorizer floor): includes loading DynamoDB and one GetItem. */
  readonly authorizerUserTokenRatio: number;
  /** median(proxy) / median(empty handler). */
  readonly proxyRatio: number;
}

type VariantName = 'authorizerMachine' | 'authorizerFloor' | 'authorizerUser' | 'proxy' | 'proxyFloor';

interface Variant {
  readonly name: VariantName;
  readonly description: string;
  readonly bundle: { readonly file: string; readonly bytes: number };
  readonly event: string;
  readonly env: NodeJS.ProcessEnv;
  readonly expect: string;
}

function runChild(v: Variant, nodeArgs: readonly string[]): Promise<ColdStartRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'cold-child.cjs'), v.bundle.file, v.event], { env: v.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // The handler may log to stdout (the proxy's audit line): the result is the line the child marks.
      const line = out.split('\n').find((l) => l.startsWith('cold-start '))?.slice('cold-start '.length) ?? '';
      let parsed: { scriptStart?: number; loaded?: number; answered?: number; outcome?: string; sdkClients?: string[] };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        reject(new Error(`cold start ${v.name} (exit ${code}) printed no result: ${out}${err}`));
        return;
      }
      if (code !== 0 || parsed.outcome !== v.expect || parsed.answered === undefined || parsed.loaded === undefined || parsed.scriptStart === undefined) {
        reject(new Error(`cold start ${v.name} failed (exit ${code}, expected ${v.expect}): ${line} ${err}`));
        return;
      }
      resolvePromise({
        processStartToAnswerMs: round(parsed.answered),
        bootstrapMs: round(parsed.scriptStart),
        requireMs: round(parsed.loaded - parsed.scriptStart),
        firstInvokeMs: round(parsed.answered - parsed.loaded),
        sdkClients: parsed.sdkClients ?? [],
      });
    });
  });
}

/** A FHIR backend on loopback answering Alice's Patient read (it does not check SigV4; it only has to answer). */
async function startBackend(): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify(alicePatient());
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(req.url?.endsWith('/Patient/pat-alice') ? 200 : 404, { 'content-type': 'application/fhir+json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/r4`, server };
}

export interface ColdStartOptions {
  readonly processes: number;
  readonly warmupProcesses: number;
  /** When set, every child also runs with --cpu-prof and writes its profile into this directory (the timings then include the profiler). */
  readonly profileDir?: string;
}

export async function benchColdStart(options: ColdStartOptions): Promise<{ coldStart: ColdStartResult; bundleSizes: BundleSizes }> {
  const outDir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-bundles-'));
  // The Lambda entry fetches JWKS over HTTPS only: a throwaway certificate, trusted by each child through NODE_EXTRA_CA_CERTS.
  const certificate = selfSignedCertificate();
  const issuer: TestIssuer = await startTestIssuer('/local_pool', { tls: certificate });
  const dynamo = await startDynalite();
  const backend = await startBackend();
  try {
    const sizes: Record<string, unknown> = {
      settings: 'lib/function-bundle.ts buildFunctionBundle: what cdk synth ships (esbuild, minify, platform node, target node24, cjs, @aws-sdk/* and @smithy/* external)',
    };
    const bundles = {} as Record<FunctionName, { file: string; bytes: number }>;
    for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
      bundles[name] = await buildFunctionBundle(entry, join(outDir, name));
      sizes[name] = { entry, minifiedBytes: bundles[name].bytes, budgetBytes: BUNDLE_BUDGET_BYTES[name] };
    }
    const floorBundle = (file: string) => buildFunctionBundle(relative(ROOT, join(__dirname, 'floors', file)), join(outDir, file.replace(/\.ts$/, '')));
    const authorizerFloor = await floorBundle('authorizer-floor.ts');
    const emptyFloor = await floorBundle('empty-handler.ts');

    await dynamo.putLink({ sub: ALICE.sub, role: ALICE.role, fhirUser: ALICE.fhirUser, patients: [...ALICE.patients] });
    const machineToken = issuer.token({ sub: API_SERVER, client_id: API_SERVER, scope: 'system/Observation.rs' });
    const tokenEvent = (token: string) => JSON.stringify({ type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN });
    // A clean environment, as Lambda gives one: nothing from this process (no NODE_OPTIONS, no tsx loader).
    const lambdaEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_PATH: join(ROOT, 'node_modules'),
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      NODE_EXTRA_CA_CERTS: certificate.certFile,
    };
    const authorizerEnv = {
      ...lambdaEnv,
      [ENV.issuers]: JSON.stringify([{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: issuer.jwksUri }]),
      [ENV.userClientIds]: WEB_CLIENT,
      [ENV.machineClientIds]: API_SERVER,
      [ENV.linksTable]: dynamo.tableName,
      [ENV.linkCacheTtlSeconds]: '60',
      [ENV.dynamoEndpoint]: dynamo.endpoint,
      [ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
    };
    const proxyEnv = {
      ...lambdaEnv,
      [PROXY_ENV.backendUrl]: backend.url,
      [PROXY_ENV.sigv4Region]: 'us-east-1',
      [PROXY_ENV.pagingKmsKeyId]: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
      [PROXY_ENV.discovery]: JSON.stringify(BENCH_DISCOVERY),
      [PROXY_ENV.settings]: JSON.stringify(DEFAULT_SETTINGS),
    };
    const variants: Variant[] = [
      { name: 'authorizerMachine', description: 'fhirgate authorizer, machine token (no link needed)', bundle: bundles.authorizer, event: tokenEvent(machineToken), env: authorizerEnv, expect: 'Allow' },
      { name: 'authorizerFloor', description: 'floor: aws-jwt-verify alone, same machine token (bench/floors/authorizer-floor.ts)', bundle: authorizerFloor, event: tokenEvent(machineToken), env: { ...lambdaEnv, FLOOR_ISSUER: issuer.issuer, FLOOR_JWKS_URI: issuer.jwksUri }, expect: 'Allow' },
      { name: 'authorizerUser', description: "fhirgate authorizer, Alice's user token (loads DynamoDB, reads her link)", bundle: bundles.authorizer, event: tokenEvent(aliceToken(issuer)), env: authorizerEnv, expect: 'Allow' },
      { name: 'proxy', description: "fhirgate proxy as configured in AWS (SigV4, KMS paging key), Alice reads her Patient", bundle: bundles['fhir-proxy'], event: JSON.stringify(proxyEvent('Patient/pat-alice')), env: proxyEnv, expect: '200' },
      { name: 'proxyFloor', description: 'floor: an empty handler (bench/floors/empty-handler.ts)', bundle: emptyFloor, event: JSON.stringify(proxyEvent('Patient/pat-alice')), env: lambdaEnv, expect: '200' },
    ];
    const runs = new Map<VariantName, ColdStartRun[]>(variants.map((v) => [v.name, []]));
    const nodeArgs = (name: string) => (options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, name)}`, '--cpu-prof-interval=100'] : []);
    for (let i = 0; i < options.warmupProcesses + options.processes; i++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(i + k) % variants.length]!;
        const run = await runChild(v, nodeArgs(v.name));
        if (i >= options.warmupProcesses) runs.get(v.name)!.push(run);
      }
    }
    const summaryOf = (v: Variant): ColdStartVariant => {
      const r = runs.get(v.name)!;
      const of = (pick: (x: ColdStartRun) => number) => roundSummary(summarize(r.map(pick)));
      return {
        description: v.description,
        bundleBytes: v.bundle.bytes,
        processStartToAnswer: of((x) => x.processStartToAnswerMs),
        bootstrap: of((x) => x.bootstrapMs),
        require: of((x) => x.requireMs),
        firstInvoke: of((x) => x.firstInvokeMs),
        sdkClients: r[0]?.sdkClients ?? [],
      };
    };
    const result = Object.fromEntries(variants.map((v) => [v.name, summaryOf(v)])) as Record<VariantName, ColdStartVariant>;
    const ratio = (a: VariantName, b: VariantName) => round(result[a].processStartToAnswer.median / result[b].processStartToAnswer.median);
    return {
      bundleSizes: sizes as BundleSizes,
      coldStart: {
        unit: 'ms',
        processes: options.processes,
        discardedWarmupProcesses: options.warmupProcesses,
        resolution: '@aws-sdk/* and @smithy/* external, resolved through NODE_PATH=<repo>/node_modules (as Lambda resolves its runtime SDK); JWKS, dynalite and the FHIR backend served by the parent on 127.0.0.1',
        variants: result,
        authorizerRatio: ratio('authorizerMachine', 'authorizerFloor'),
        authorizerUserTokenRatio: ratio('authorizerUser', 'authorizerFloor'),
        proxyRatio: ratio('proxy', 'proxyFloor'),
      },
    };
  } finally {
    await new Promise<void>((r) => backend.server.close(() => r()));
    await dynamo.close();
    await issuer.close();
    await rm(outDir, { recursive: true, force: true });
  }
}
