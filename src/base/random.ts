/**
 * Seeded randomness, so that a run can be repeated with `--seed`.
 *
 * @module
 */

/** A source of numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * A small, fast seeded generator (mulberry32).
 *
 * @example The same seed gives the same sequence
 * ```ts
 * import { seededRandom } from "./random.ts";
 * import assert from "node:assert/strict";
 * const a = seededRandom(7), b = seededRandom(7);
 * assert.equal(a(), b());
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number from `min` to `max`, both included. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A number from `min` to `max` (for intervals in ms). */
export function randomBetween(random: Random, min: number, max: number): number {
  return min + random() * (max - min);
}

/** A seed for the `index`-th child of a run seeded with `seed` (different, repeatable). */
export function childSeed(seed: number, index: number): number {
  return seededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0)() * 4294967296 >>> 0;
}

/** A fresh random 32-bit seed, for runs without `--seed`. */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
