/**
 * Carrying values kept elsewhere (counters in shared memory, a replica's staleness) over to
 * metrics a few times a second, and once more at the end. Deno runs no observable instrument's
 * callback in the export it makes when the process exits, so a value that must reach that last
 * export is recorded on a synchronous instrument, from here.
 *
 * @module
 */

/** How often values are carried over to the metrics, in ms. */
export const CARRY_OVER_MS = 200;

/** A running carry-over; see {@linkcode carryOver}. */
export interface CarryOver {
  /** Carries the last changes over and stops. */
  stop(): void;
}

/**
 * Calls `push` every `intervalMs` (the timer does not keep the process alive), and once more
 * on {@linkcode CarryOver.stop}.
 */
export function carryOver(push: () => void, intervalMs: number = CARRY_OVER_MS): CarryOver {
  const timer = setInterval(push, intervalMs);
  Deno.unrefTimer(timer);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      push();
    },
  };
}

/**
 * A push that adds to `add` what a growing (or, for an up-down counter, changing) value `read`
 * gained since the last push.
 *
 * @example
 * ```ts
 * import { delta } from "./carry_over.ts";
 * import assert from "node:assert/strict";
 * let value = 5;
 * const added: number[] = [];
 * const push = delta(() => value, (d) => added.push(d));
 * push();
 * push(); // no change: nothing added
 * value = 7;
 * push();
 * assert.deepEqual(added, [5, 2]);
 * ```
 */
export function delta(read: () => number, add: (delta: number) => void): () => void {
  let last = 0;
  return () => {
    const now = read();
    if (now !== last) add(now - last);
    last = now;
  };
}
