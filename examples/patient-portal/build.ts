/**
 * Build the portal into a directory of static files: `index.html`, `styles.css`, `app.js` (one
 * esbuild bundle) and, given a config, `config.json`. The local stack calls `buildPortal` at start;
 * for a deployed stack, from the CDK outputs file:
 *
 *   npx cdk deploy --outputs-file cdk-outputs.json
 *   npx tsx examples/patient-portal/build.ts --out dist/portal --cdk-outputs cdk-outputs.json [--stack Fhirgate]
 *
 * then host `dist/portal` on the origin you allowed in fhirgate's CORS settings.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { PortalConfig, portalConfigFromCdkOutputs } from './src/config';

const HERE = __dirname;
const STATIC_FILES = ['index.html', 'styles.css'];

/** Bundle the app and copy its static files into `outDir` (created if missing). */
export async function buildPortal(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    build({
      entryPoints: [join(HERE, 'src/main.ts')],
      outfile: join(outDir, 'app.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      sourcemap: true,
      logLevel: 'silent',
    }),
    ...STATIC_FILES.map((f) => copyFile(join(HERE, f), join(outDir, f))),
  ]);
}

/** Write the config the app fetches at start (`config.json` beside `index.html`). */
export async function writePortalConfig(outDir: string, config: PortalConfig): Promise<void> {
  await writeFile(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

async function cli(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'cdk-outputs': { type: 'string' }, stack: { type: 'string' } } });
  if (!values.out) throw new Error('usage: build.ts --out <dir> [--cdk-outputs <cdk-outputs.json> [--stack <name>]]');
  const out = resolve(values.out);
  await buildPortal(out);
  if (values['cdk-outputs']) {
    const outputs: unknown = JSON.parse(await readFile(values['cdk-outputs'], 'utf8'));
    await writePortalConfig(out, portalConfigFromCdkOutputs(outputs, values.stack));
  }
  process.stdout.write(`portal built in ${out}${values['cdk-outputs'] ? '' : ' (no config.json: write one or pass --cdk-outputs)'}\n`);
}

if (require.main === module) {
  cli().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
