/**
 * Latency samples and their summary (exact percentiles from all samples: a few million 8-byte
 * samples per run are cheap to keep and sort).
 *
 * @module
 */

/** Percentiles of a set of latencies, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * Collects latency samples (milliseconds) in growable chunks.
 *
 * @example
 * ```ts
 * import { LatencyRecorder } from "./latency.ts";
 * import assert from "node:assert/strict";
 * const recorder = new LatencyRecorder();
 * for (let i = 1; i <= 1000; i++) recorder.add(i);
 * const summary = recorder.summary();
 * assert.deepEqual([summary.p50, summary.p99, summary.p999, summary.max], [500, 990, 999, 1000]);
 * ```
 */
export class LatencyRecorder {
  readonly #chunks: Float64Array[] = [];
  #current = new Float64Array(65536);
  #used = 0;

  /** Records one latency. */
  add(ms: number): void {
    if (this.#used === this.#current.length) {
      this.#chunks.push(this.#current);
      this.#current = new Float64Array(this.#current.length);
      this.#used = 0;
    }
    this.#current[this.#used++] = ms;
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyRecorder): void {
    for (const chunk of other.#all()) for (const ms of chunk) this.add(ms);
  }

  #all(): Float64Array[] {
    return [...this.#chunks, this.#current.subarray(0, this.#used)];
  }

  /** The summary; zeros when empty. */
  summary(): LatencySummary {
    const parts = this.#all();
    const count = parts.reduce((n, p) => n + p.length, 0);
    if (count === 0) return { count: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0 };
    const all = new Float64Array(count);
    let at = 0;
    let sum = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
      for (const ms of part) sum += ms;
    }
    all.sort();
    const rank = (q: number) => all[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]!;
    return {
      count,
      mean: sum / count,
      p50: rank(0.5),
      p99: rank(0.99),
      p999: rank(0.999),
      max: all[count - 1]!,
    };
  }
}
