/**
 * docs/performance.md's figures come from bench/results.json, never typed by hand: the generated
 * block committed in the doc must be exactly what bench/docs.ts renders from the committed
 * results, and every cost in it must follow from the measured time (1 ms billing, arm64 price).
 */
import { readFileSync } from 'node:fs';
import { authorizerCostByHitRate, costRows, LAMBDA_PRICE } from '../../bench/cost';
import { DOC, END, renderBlock, RESULTS, START } from '../../bench/docs';
import type { BenchResults } from '../../bench/report';

const results = JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchResults;

test('the generated block of docs/performance.md matches bench/results.json (regenerate: npx tsx bench/docs.ts)', () => {
  const doc = readFileSync(DOC, 'utf8');
  const block = doc.slice(doc.indexOf(START), doc.indexOf(END) + END.length);
  expect(block).toBe(renderBlock(results));
});

test('costs: billed time is the measured time rounded up to 1 ms; a hit rate h leaves (1 − h) of the authorizer bill', () => {
  for (const c of costRows(results)) {
    expect(c.billedMs).toBe(Math.max(1, Math.ceil(c.measuredMs)));
    const expected = (c.billedMs / 1000) * (c.memoryMb / 1024) * LAMBDA_PRICE.usdPerGbSecond * 1e6 + LAMBDA_PRICE.usdPerMillionRequests;
    expect(c.usdPerMillion).toBeCloseTo(expected, 2);
  }
  const [none, ...rest] = authorizerCostByHitRate(results);
  expect(none!.usdPerMillionRequests).toBe(costRows(results)[0]!.usdPerMillion);
  for (const r of rest) expect(r.usdPerMillionRequests).toBeCloseTo(none!.usdPerMillionRequests * (1 - r.hitRate), 2);
});
