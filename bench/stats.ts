/**
 * Small statistics over timing samples. Medians and high percentiles are read from the sorted
 * samples (nearest rank), so a handful of GC pauses move p99 but never the median.
 */

/** Summary of one set of per-iteration samples, in the unit they were recorded in. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile (p in 0..100) of samples already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Summarise samples (copied, then sorted). */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    n: sorted.length,
    median: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    min: sorted.length ? sorted[0]! : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** Growable sample buffer (Float64Array-backed: no boxing, no GC churn while measuring). */
export class Samples {
  private data: Float64Array;
  private size = 0;

  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.size === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.size++] = value;
  }

  get length(): number {
    return this.size;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.size);
  }
}

/** Nanoseconds between two `process.hrtime.bigint()` readings, as a number of microseconds. */
export function microsBetween(start: bigint, end: bigint): number {
  return Number(end - start) / 1e3;
}

/** Round for display and JSON: keeps 3 significant decimals without noise like 1.2300000001. */
export function round(value: number, decimals = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Round every number in a summary. */
export function roundSummary(s: Summary, decimals = 3): Summary {
  return {
    n: s.n,
    median: round(s.median, decimals),
    p90: round(s.p90, decimals),
    p99: round(s.p99, decimals),
    mean: round(s.mean, decimals),
    min: round(s.min, decimals),
    max: round(s.max, decimals),
  };
}
