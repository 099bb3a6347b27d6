/**
 * Ours as a share of the Deno floor (`floor_server.ts`): for each load the floor ran, our
 * server's throughput over the floor's, with the same load and client in the same run — how much
 * of what Deno allows here ours reaches (issue 23's goal: ≥ 0.9× with `--fsync never` at 10 and
 * 100 persistent clients). Pure: results in, lines out.
 *
 * @module
 */

import { thousands } from "../base/number_format.ts";
import { floorTwin, serverLabel } from "./cases.ts";
import type { CaseResult } from "./report.ts";

/** The least share of the floor `--fsync never` should reach at 10 and 100 persistent clients. */
export const FLOOR_GOAL = 0.9;

/**
 * One line per case of ours that has a floor twin in `results`; `""` when the floor did not run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatFloorShare } from "./floor_share.ts";
 * assert.equal(formatFloorShare([]), "");
 * ```
 */
export function formatFloorShare(results: readonly CaseResult[]): string {
  const cases = results.map((r) => r.case);
  const lines: string[] = [];
  for (const ours of results) {
    const twin = floorTwin(ours.case, cases);
    const floor = twin && results.find((r) => r.case === twin);
    if (!floor?.messagesPerSecond || !ours.messagesPerSecond || ours.case.server.kind !== "likes") {
      continue;
    }
    const share = ours.messagesPerSecond / floor.messagesPerSecond;
    const judged = ours.case.server.fsync === "never" && ours.case.mode === "persistent" &&
      (ours.case.clients === 10 || ours.case.clients === 100);
    lines.push(
      `  ${ours.case.load}, ${serverLabel(ours.case.server)} (${ours.case.driver}): ${
        share.toFixed(2)
      }× (${thousands(ours.messagesPerSecond)} vs ${thousands(floor.messagesPerSecond)} msg/s)${
        judged
          ? `: goal ≥ ${FLOOR_GOAL.toFixed(2)}× ${share >= FLOOR_GOAL ? "met" : "NOT met"}`
          : ""
      }`,
    );
  }
  if (lines.length === 0) return "";
  return `ours as a share of the Deno floor (a server that only writes ACK per line, same Workers, same load and client, this run):\n${
    lines.join("\n")
  }\n`;
}
