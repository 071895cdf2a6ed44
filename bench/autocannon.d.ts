/**
 * The part of autocannon's programmatic API the benchmark uses (the package ships no types, and
 * @types/autocannon is not a dependency). See https://github.com/mcollina/autocannon#api
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      pipelining?: number;
      /** Milliseconds between stats samples; a run ends on the first sample after `duration`. @default 1000 */
      sampleInt?: number;
      /** Seconds. */
      timeout?: number;
      headers?: Record<string, string>;
      method?: string;
    }
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
      total: number;
    }
    interface Result {
      url: string;
      connections: number;
      /** Seconds, to 10 ms. */
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      /** Milliseconds, recorded in whole milliseconds. */
      latency: Histogram;
      /** Requests per second, sampled each second. */
      requests: Histogram & { sent: number };
      throughput: Histogram;
    }
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
      /** (client, statusCode, resBytes, responseTime in ms with sub-millisecond precision) */
      on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
