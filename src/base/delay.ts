/**
 * An abortable sleep that never rejects and never leaves a timer behind.
 *
 * @module
 */

/**
 * Resolves after `ms`, or as soon as `signal` aborts (to `false` then, else `true`).
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await delay(1), true);
 * assert.equal(await delay(10_000, AbortSignal.abort()), false);
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
