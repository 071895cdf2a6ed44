/**
 * Code blocks in the repository's Markdown. A block whose info string says `runnable`
 * (```` ```ts runnable ````) is run verbatim by a test; `runnableBlocks` finds them and
 * `evaluateTs` runs one (TypeScript transpiled, evaluated in a fresh context) and returns what
 * it declared at top level.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { ModuleKind, ScriptTarget, transpileModule } from 'typescript';

export const ROOT = join(__dirname, '..', '..');

export interface DocBlock {
  readonly file: string;
  readonly lang: string;
  readonly runnable: boolean;
  readonly code: string;
}

/** Every fenced code block of a Markdown file (path relative to the repository). */
export function codeBlocks(file: string): DocBlock[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => {
    const info = m[1]!.trim().split(/\s+/);
    return { file, lang: info[0] ?? '', runnable: info.includes('runnable'), code: m[2]! };
  });
}

/** The blocks marked runnable in a file. */
export function runnableBlocks(file: string): DocBlock[] {
  return codeBlocks(file).filter((b) => b.runnable);
}

/** Run a TypeScript block as written; its top-level declarations, by name. */
export function evaluateTs(code: string): Record<string, unknown> {
  const js = transpileModule(code, { compilerOptions: { module: ModuleKind.CommonJS, target: ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const module = { exports: {} };
  const context: Record<string, unknown> = { require, module, exports: module.exports, Buffer, fetch, URLSearchParams, console };
  // `var`/function declarations land on the context; `const` ones are copied out by name.
  const names = [...code.matchAll(/^(?:export\s+)?(?:async\s+)?(?:function|const|let|class)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!);
  runInNewContext(`${js}\n;Object.assign(globalThis.__declared = {}, { ${names.join(', ')} });`, context);
  return context.__declared as Record<string, unknown>;
}
