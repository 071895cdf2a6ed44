/**
 * The example is outside the root tsconfig (its browser code needs DOM types, the rest of the
 * repository must not have them), so it is typechecked here, both halves: the browser app
 * (src/tsconfig.json) and its Node scripts (tsconfig.json).
 */
import { join } from 'node:path';
import * as ts from 'typescript';

const EXAMPLE = join(__dirname, '../../examples/patient-portal');

function diagnostics(configPath: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

test.each(['src/tsconfig.json', 'tsconfig.json'])('examples/patient-portal/%s typechecks', (config) => {
  expect(diagnostics(join(EXAMPLE, config))).toEqual([]);
}, 60_000);
