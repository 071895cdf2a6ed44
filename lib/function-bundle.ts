/**
 * How a fhirgate Lambda is bundled — one definition, read by the CDK construct
 * (`FhirgateFunction`'s `bundling` props), by `npm run bench` (bundle sizes, cold starts) and by
 * the CDK tests (which check that `buildFunctionBundle` gives byte for byte the asset `cdk synth`
 * writes). Two builders would disagree (they did: 260 KB vs 114 KB for the proxy).
 *
 * `aws-lambda-nodejs` runs local esbuild as
 *   esbuild --bundle <entry> --target=… --platform=node --format=… --outfile=… --minify --external:…
 * from the project root (bundling.ts `createBundlingSteps`/`buildEsbuildArgs`, aws-cdk-lib 2.x);
 * `esbuildOptions` is that command line as esbuild's JS API options.
 */
import { join } from 'node:path';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** Repository root: entry paths are relative to it, and CDK runs esbuild from it. */
const ROOT = join(__dirname, '..');

/** Each Lambda's handler module, relative to the repository root. */
export const FUNCTION_ENTRIES = {
  authorizer: 'functions/authorizer/index.ts',
  'fhir-proxy': 'functions/fhir-proxy/index.ts',
  'token-exchange': 'functions/token-exchange/index.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** Size budgets of the minified bundles, in bytes (`npm run bench` and the CDK tests judge them). */
export const BUNDLE_BUDGET_BYTES: Readonly<Record<FunctionName, number>> = {
  authorizer: 60 * 1024,
  'fhir-proxy': 200 * 1024,
  'token-exchange': 100 * 1024,
};

/** The bundle every function ships: Node.js 24 (the functions' runtime, nodejs24.x), minified CommonJS. */
export const BUNDLE_TARGET = 'node24';

/**
 * Left to the runtime: the nodejs24.x runtime ships the AWS SDK v3 and its Smithy packages (CDK's
 * own "sdkV3ExcludeSmithyPackages" default); bundling them again only adds weight (the proxy's
 * SigV4 signer pulls in @smithy/core: 130 KB of the 250 KB it would weigh).
 */
export const RUNTIME_PROVIDED_MODULES: readonly string[] = ['@aws-sdk/*', '@smithy/*'];

/** `NodejsFunction` `bundling` props. */
export function cdkBundling(options: { readonly sourceMap: boolean }): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false, // local esbuild (a devDependency): synth works offline, without Docker
    minify: true,
    sourceMap: options.sourceMap,
    target: BUNDLE_TARGET,
    format: nodejs.OutputFormat.CJS,
    externalModules: [...RUNTIME_PROVIDED_MODULES],
  };
}

/** The esbuild options equivalent to the command CDK runs for `cdkBundling({ sourceMap: false })`. */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    target: BUNDLE_TARGET,
    platform: 'node',
    format: 'cjs',
    outfile,
    minify: true,
    external: [...RUNTIME_PROVIDED_MODULES],
    logLevel: 'silent',
  };
}

/**
 * Bundle one module (a Lambda entry, or a benchmark's floor handler) exactly as `cdk synth`
 * bundles a function, into `outDir/index.js`. esbuild is loaded on demand: a devDependency that
 * only synthesis and the benchmark need.
 */
export async function buildFunctionBundle(entry: string, outDir: string): Promise<{ readonly file: string; readonly bytes: number }> {
  const { build } = await import('esbuild');
  const { statSync } = await import('node:fs');
  const file = join(outDir, 'index.js');
  await build(esbuildOptions(entry, file));
  return { file, bytes: statSync(file).size };
}
