/**
 * Smoke run of `npm run load` (its full 20 000-request run is not part of `npm test`): a few
 * hundred requests through a real local stack, every response checked against its caller.
 * No timing assertions — only that the script runs, reports, and finds no leak or surprise.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

test('npm run load (small) finishes with no unexpected status and no cross-user leak', () => {
  const root = join(__dirname, '../..');
  const run = spawnSync(join(root, 'node_modules/.bin/tsx'), ['load/run.ts', '--requests', '300', '--concurrency', '10', '--json'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(result).toMatchObject({ requests: 300, concurrency: 10, unexpected: 0, leaks: 0 });
  expect(Object.keys(result.statuses).sort()).toEqual(['200', '403', '404']);
  expect(result.rssBeforeMb).toBeGreaterThan(0);
});
