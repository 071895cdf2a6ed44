/**
 * Section 3: the PEP's compartment post-filter, `filterBundle` (functions/core/response-filter.ts),
 * for a patient-scoped principal (Alice, `patient/*.rs`) on searchsets of several sizes, half of
 * each inside her compartment. The URL rewriter is the proxy's own (`PublicUrls.bundleRewriter`),
 * prepared once per Bundle outside the timed call, as the proxy does before filtering.
 *
 * Sizes are interleaved round by round (order rotating) so drift hits every size alike; each
 * sample is one `filterBundle` call; the rate is size / median call time.
 */
import { randomBytes } from 'node:crypto';
import type { BundleUrlRewriter } from '../functions/core/response-filter';
import { filterBundle } from '../functions/core/response-filter';
import { principalFromContext } from '../functions/core/principal-context';
import type { AccessContext } from '../functions/core/resource-access';
import { DEFAULT_SETTINGS } from '../functions/core/settings';
import { createHmacPageSigner } from '../functions/fhir-proxy/page-signer';
import { PublicUrls } from '../functions/fhir-proxy/public-urls';
import { profile } from './profiler';
import { microsBetween, round, roundSummary, Samples, Summary, summarize } from './stats';
import { syntheticSearchset } from './synthetic';

const BACKEND_BASE = 'https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4';
const PUBLIC_BASE = 'https://abcde12345.execute-api.us-east-1.amazonaws.com/prod/fhir';

export interface PepFilterSize {
  readonly entries: number;
  readonly kept: number;
  readonly removed: number;
  /** Calls per round (batch), chosen so a batch lasts about `batchMs`. */
  readonly callsPerRound: number;
  readonly perCallMs: Summary;
  /** entries / median call time. */
  readonly resourcesPerSecond: number;
}

export interface PepFilterResult {
  readonly principal: string;
  readonly mix: string;
  readonly sizes: readonly PepFilterSize[];
  /** median time(10 000) / median time(1 000); linear scaling is 10. */
  readonly scaling10kOver1k: number | null;
}

export interface PepFilterOptions {
  readonly sizes: readonly number[];
  readonly rounds: number;
  /** Target duration of one batch (calls of one size in a row), ms. */
  readonly batchMs: number;
  /** When set, an extra pass over the largest Bundle runs under the CPU profiler and is written here. */
  readonly profileFile?: string;
}

export async function benchPepFilter(options: PepFilterOptions): Promise<PepFilterResult> {
  const principal = principalFromContext({ kind: 'patient', sub: 'u-alice', clientId: 'web', fhirUser: 'Patient/pat-alice', patients: 'pat-alice', scopes: 'patient/*.rs' });
  const ctx: AccessContext = { principal, settings: DEFAULT_SETTINGS, ownBaseUrls: [BACKEND_BASE, PUBLIC_BASE] };
  const urls = new PublicUrls(PUBLIC_BASE, BACKEND_BASE);
  const signer = createHmacPageSigner(randomBytes(32));

  const cases: { size: number; bundle: Record<string, unknown>; rewrite: BundleUrlRewriter; reps: number; samples: Samples; kept: number; removed: number }[] = [];
  for (const size of options.sizes) {
    const bundle = syntheticSearchset(size, 'pat-alice', BACKEND_BASE);
    const rewrite = await urls.bundleRewriter(principal, signer, bundle);
    const check = filterBundle(ctx, bundle, 's', rewrite);
    if (check.kept !== size / 2 || check.removed !== size / 2) throw new Error(`pep filter: expected half of ${size} kept, got ${check.kept}`);
    // Warm-up (JIT) and a per-call estimate that sizes the batches.
    const t0 = process.hrtime.bigint();
    let warm = 0;
    while (warm < 3 || microsBetween(t0, process.hrtime.bigint()) < 100_000) {
      filterBundle(ctx, bundle, 's', rewrite);
      warm += 1;
    }
    const estimateMs = microsBetween(t0, process.hrtime.bigint()) / 1e3 / warm;
    cases.push({ size, bundle, rewrite, reps: Math.max(1, Math.round(options.batchMs / estimateMs)), samples: new Samples(), kept: check.kept, removed: check.removed });
  }

  let sink = 0; // keeps the results observable so no call can be optimised away
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length]!;
      for (let i = 0; i < c.reps; i++) {
        const t0 = process.hrtime.bigint();
        const result = filterBundle(ctx, c.bundle, 's', c.rewrite);
        const t1 = process.hrtime.bigint();
        sink += result.kept;
        c.samples.push(microsBetween(t0, t1) / 1e3);
      }
    }
  }
  if (sink === 0) throw new Error('pep filter: nothing kept');
  if (options.profileFile) {
    const largest = cases[cases.length - 1]!;
    await profile(options.profileFile, () => {
      const until = process.hrtime.bigint() + 2_000_000_000n;
      while (process.hrtime.bigint() < until) sink += filterBundle(ctx, largest.bundle, 's', largest.rewrite).kept;
    });
  }

  const sizes: PepFilterSize[] = cases.map((c) => {
    const s = summarize(c.samples.values());
    return { entries: c.size, kept: c.kept, removed: c.removed, callsPerRound: c.reps, perCallMs: roundSummary(s, 4), resourcesPerSecond: Math.round(c.size / (s.median / 1e3)) };
  });
  const t1k = sizes.find((s) => s.entries === 1000)?.perCallMs.median;
  const t10k = sizes.find((s) => s.entries === 10000)?.perCallMs.median;
  return {
    principal: 'patient Alice: patients [pat-alice], scopes patient/*.rs (DEFAULT_SETTINGS), ownBaseUrls [backend, public]',
    mix: 'searchset; 60 % Observation, 30 % Encounter, 10 % Patient; exactly half in pat-alice\'s compartment, half across 50 other patients; seeded shuffle',
    sizes,
    scaling10kOver1k: t1k !== undefined && t10k !== undefined ? round(t10k / t1k) : null,
  };
}
