/**
 * Summarise `.cpuprofile` files (from `npm run bench -- --profile DIR`, or `node --cpu-prof`):
 * where the samples fall by area (package or source directory), the top functions by self time,
 * and the top functions by inclusive time (each function counted once per sampled stack).
 *
 *   tsx bench/profile-summary.ts DIR|FILE… [--top N] [--focus SUBSTRING]
 *
 * `--focus` keeps only samples whose stack contains a frame whose function or URL contains the
 * substring (e.g. `--focus createAuthorizerHandler`), to read one request path inside a profile
 * that also holds startup or other work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = join(__dirname, '..');

/** A readable place for a frame: node_modules package, repo-relative directory, or node internals. */
function area(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:internal/deps/')) return `node:deps/${url.split('/')[2]}`; // e.g. undici (global fetch)
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith(ROOT)) return url.slice(ROOT.length + 1).split('/').slice(0, -1).join('/') || '.';
  return url.includes('/') ? basename(url.split('/').slice(0, -1).join('/')) : url;
}

function label(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const where = url ? `${url.startsWith(ROOT) ? url.slice(ROOT.length + 1) : url.replace(/.*\/node_modules\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

function summarise(file: string, top: number, focus: string | undefined): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): ProfileNode[] => {
    const out: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur)!);
    return out;
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0; // µs until the next sample
    const stack = stackOf(profile.samples[i]!);
    if (focus && !stack.some((n) => n.callFrame.functionName.includes(focus) || n.callFrame.url.includes(focus))) continue;
    total += dt;
    const leaf = stack[0]!.callFrame;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
    areas.set(area(leaf), (areas.get(area(leaf)) ?? 0) + dt);
    for (const key of new Set(stack.map((n) => label(n.callFrame)))) inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
  const pct = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)} %`;
  const list = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${pct(v)}  ${(v / 1000).toFixed(1).padStart(8)} ms  ${k}`)
      .join('\n');
  return [
    `== ${file}${focus ? ` (samples under "${focus}")` : ''}: ${(total / 1000).toFixed(0)} ms sampled`,
    '-- self time by area',
    list(areas, top),
    '-- self time by function',
    list(self, top),
    '-- inclusive time by function',
    list(inclusive, top),
    '',
  ].join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 20;
  let focus: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--focus') focus = args[++i];
    else {
      const p = args[i]!;
      if (statSync(p).isDirectory()) {
        const walk = (dir: string): void => {
          for (const name of readdirSync(dir).sort()) {
            const full = join(dir, name);
            if (statSync(full).isDirectory()) walk(full);
            else if (name.endsWith('.cpuprofile')) files.push(full);
          }
        };
        walk(p);
      } else files.push(p);
    }
  }
  if (files.length === 0) throw new TypeError('usage: tsx bench/profile-summary.ts DIR|FILE… [--top N] [--focus SUBSTRING]');
  for (const f of files) process.stdout.write(`${summarise(f, top, focus)}\n`);
}

main();
