/**
 * The progress line a LikesServer prints on stdout with `--report-json`, one JSON object per
 * line: the contract between a LikesServer and the ParentProcess that watches it.
 *
 * @module
 */

/** One LikesServer's progress. */
export interface EdgeReport {
  /** Its number N (`LikesServer<N>`). */
  readonly id: number;
  /** The key the server counts it under. */
  readonly clientId: string;
  /** `running` while generating, `draining` after its lifetime, `done` at the end. */
  readonly phase: "running" | "draining" | "done";
  /** Likes generated so far. */
  readonly generated: number;
  /** Likes the server acknowledged so far. */
  readonly acknowledged: number;
  /**
   * Likes sent in classic messages that got no acknowledgement and were not sent again (a retry
   * could count twice): the server may or may not have counted them.
   */
  readonly unanswered: number;
  /** Likes generated, neither acknowledged nor sent without an answer: still owed. */
  readonly unacknowledged: number;
  /** Whether the last exchange with the server succeeded. */
  readonly connected: boolean;
}

const PHASES = new Set(["running", "draining", "done"]);

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses one progress line; returns `null` for anything that is not one.
 *
 * @example
 * ```ts
 * import { parseEdgeReport } from "./edge_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseEdgeReport("hello"), null);
 * const line = '{"id":1,"clientId":"c","phase":"done","generated":3,"acknowledged":3,"unanswered":0,"unacknowledged":0,"connected":true}';
 * assert.equal(parseEdgeReport(line)?.generated, 3);
 * ```
 */
export function parseEdgeReport(line: string): EdgeReport | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok = isCount(r.id) && typeof r.clientId === "string" && PHASES.has(r.phase as string) &&
    isCount(r.generated) && isCount(r.acknowledged) && isCount(r.unanswered) &&
    isCount(r.unacknowledged) &&
    typeof r.connected === "boolean";
  return ok ? (value as EdgeReport) : null;
}
