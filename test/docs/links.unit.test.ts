/**
 * The documentation a user reads (README.md and docs/**): every relative link points at a file
 * that exists; nothing points into the team's workspace (`../shared/`, a DESIGN.md that is not in
 * the repository), from the docs or from a source comment; and every code block marked
 * `runnable` has a test that runs it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { codeBlocks, ROOT } from '../support/doc-blocks';

function files(dir: string, ext: RegExp): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .map((f) => join(abs, f))
    .filter((f) => ext.test(f) && statSync(f).isFile())
    .map((f) => relative(ROOT, f));
}

const DOCS = ['README.md', ...files('docs', /\.md$/)];

/** Markdown links and images `[text](target)` outside code blocks, with their line. */
function linksOf(file: string): { target: string; line: number }[] {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ' '));
  const links: { target: string; line: number }[] = [];
  text.split('\n').forEach((line, i) => {
    const inline = line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
    for (const m of inline.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push({ target: m[1]!, line: i + 1 });
  });
  return links;
}

test('there are docs to check (README.md and docs/)', () => {
  expect(DOCS).toContain('README.md');
  expect(DOCS).toEqual(expect.arrayContaining(['docs/design.md', 'docs/local-stack.md', 'docs/cli.md', 'docs/patterns/backend-services.md']));
});

test.each(DOCS)('%s: every relative link points at a file that exists', (file) => {
  const broken = linksOf(file)
    .filter(({ target }) => !/^(https?:|mailto:|#)/.test(target))
    .filter(({ target }) => !existsSync(resolve(dirname(join(ROOT, file)), decodeURI(target.split('#')[0]!))))
    .map(({ target, line }) => `${file}:${line} → ${target}`);
  expect(broken).toEqual([]);
});

test.each(DOCS)('%s: no link leaves the repository', (file) => {
  const outside = linksOf(file)
    .filter(({ target }) => !/^(https?:|mailto:|#)/.test(target))
    .filter(({ target }) => relative(ROOT, resolve(dirname(join(ROOT, file)), target.split('#')[0]!)).startsWith('..'))
    .map(({ target, line }) => `${file}:${line} → ${target}`);
  expect(outside).toEqual([]);
});

test('no product file mentions the team workspace (../shared/, DESIGN.md)', () => {
  const product = [...DOCS, ...['functions', 'lib', 'bin', 'local', 'examples', 'scripts', 'bench', 'load'].flatMap((d) => files(d, /\.(ts|cjs|mjs|js|md|html)$/))];
  const mentions = product.filter((f) => /DESIGN\.md|STYLE\.md|\/work\/shared/.test(readFileSync(join(ROOT, f), 'utf8')));
  expect(mentions).toEqual([]);
});

test('every code block marked runnable is run by a test (the test names the page it reads)', () => {
  const runnable = DOCS.flatMap((f) => codeBlocks(f).filter((b) => b.runnable));
  expect(runnable.length).toBeGreaterThan(0);
  const tests = files('test', /\.test\.ts$/).map((f) => readFileSync(join(ROOT, f), 'utf8'));
  const unclaimed = runnable.filter((b) => !tests.some((t) => t.includes(`runnableBlocks('${b.file}')`))).map((b) => b.file);
  expect(unclaimed).toEqual([]);
});
