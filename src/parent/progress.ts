/**
 * The live progress line the parent shows on a terminal. Pure formatting.
 *
 * @module
 */

/** What the progress line shows. */
export interface Progress {
  readonly alive: number;
  readonly started: number;
  readonly total: number;
  readonly generated: number;
  readonly acknowledged: number;
  /** Seconds until the last LikesServer's lifetime ends (may be negative while draining). */
  readonly secondsLeft: number;
}

/**
 * Formats one progress line (no line break).
 *
 * @example
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatProgress({ alive: 3, started: 4, total: 10, generated: 120, acknowledged: 100, secondsLeft: 12.3 }),
 *   "LikesServers 3 alive, 4/10 started · generated 120 · acknowledged 100 (20 pending) · 13 s left",
 * );
 * ```
 */
export function formatProgress(p: Progress): string {
  const pending = p.generated - p.acknowledged;
  const left = p.secondsLeft > 0 ? `${Math.ceil(p.secondsLeft)} s left` : "draining";
  return `LikesServers ${p.alive} alive, ${p.started}/${p.total} started · generated ${p.generated} · ` +
    `acknowledged ${p.acknowledged}${pending ? ` (${pending} pending)` : ""} · ${left}`;
}
