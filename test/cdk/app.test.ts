/**
 * `cdk synth` runs `cdk.json`'s app command; this runs that same command (offline, bundling
 * skipped through the context the CLI itself uses for unselected stacks) and checks it writes a
 * cloud assembly with the stack, so a broken bin/app.ts or cdk.json fails here, not at deploy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cdkJson } from './synth';

const ROOT = join(__dirname, '..', '..');

test('cdk.json runs bin/app.ts with tsx and writes to cdk.out', () => {
  expect(cdkJson.app).toBe('npx tsx bin/app.ts');
  expect((cdkJson as { output?: string }).output).toBe('cdk.out');
  expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^cdk\.out\/?$/m);
});

test('the app command synthesizes the stack (as `cdk synth -c backendUrl=… -c mfa=required` would)', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'fhirgate-app-'));
  const [command, ...args] = cdkJson.app.split(' ');
  const result = spawnSync(command!, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      // The CLI passes context like this; -c values arrive as strings.
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [], backendUrl: 'https://fhir.example.org/r4', mfa: 'required' }),
    },
  });
  expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ status: 0, stderr: '' });
  const template = JSON.parse(readFileSync(join(outdir, 'Fhirgate.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const pool = Object.values(template.Resources).find((r) => r.Type === 'AWS::Cognito::UserPool')!;
  expect(pool.Properties.MfaConfiguration).toBe('ON');
  expect(Object.values(template.Resources).some((r) => r.Type === 'AWS::HealthLake::FHIRDatastore')).toBe(false);
  expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
}, 60_000);
